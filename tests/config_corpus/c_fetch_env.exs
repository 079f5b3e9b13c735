import Config

database_url =
  System.fetch_env!("CORPUS_DATABASE_URL")

config :corpus_app, CorpusApp.Repo,
  url: database_url,
  pool_size: String.to_integer(System.get_env("CORPUS_POOL_SIZE", "10")),
  socket_options: if(System.get_env("CORPUS_IPV6") in ~w(true 1), do: [:inet6], else: [])
