import Config

config :corpus_app, CorpusApp.Repo, pool_size: 50, ssl: true
config :logger, level: :info
