import Config

# Secrets derived from a build-time value, as projects write them.
salt = :crypto.hash(:sha256, "corpus-salt") |> Base.encode16(case: :lower)
upper = String.upcase(salt)

config :corpus_app, CorpusApp.Endpoint,
  signing_salt: upper,
  live_view: [signing_salt: :crypto.hash(:md5, ["corpus", ?-, "live"]) |> Base.encode64()],
  token: :crypto.hash(:sha, "token") |> Base.url_encode64(padding: false)

config :corpus_app, digest_length: byte_size(:crypto.hash(:sha512, upper))
