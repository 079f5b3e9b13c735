import Config

config :corpus_app,
  ecto_repos: [CorpusApp.Repo],
  generators: [binary_id: true]

config :corpus_app, CorpusApp.Repo,
  pool_size: 10,
  show_sensitive_data_on_connection_error: true

config :logger, :console,
  format: "$time $metadata[$level] $message\n",
  metadata: [:request_id]

# Environment-specific config overrides the above.
import_config "support/#{config_env()}.exs"
