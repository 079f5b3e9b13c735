use Mix.Config

# Replaced at boot by the application or by REPLACE_OS_VARS, not by relpack.
config :corpus_app, CorpusApp.Endpoint,
  http: [port: {:system, "PORT"}],
  url: [host: "${HOST}", port: 443],
  secret_key_base: {:system, "SECRET_KEY_BASE"}

config :corpus_app, :node_name, "${NODE_NAME}"
