import Config

config :corpus_app, secret: System.fetch_env!("CORPUS_NEVER_SET_SECRET")
