import Config

cookie =
  with {:ok, text} <- File.read("support/cookie.txt"),
       trimmed = String.trim(text),
       true <- trimmed != "" do
    trimmed
  else
    {:error, _reason} -> "no-cookie-file"
    false -> "empty-cookie-file"
  end

missing =
  with {:ok, text} <- File.read("support/never-there.txt"), do: text, else: ({:error, reason} -> reason)

config :corpus_app, cookie: cookie, missing: missing
