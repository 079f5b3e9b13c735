import Config

alias CorpusApp.Repo
alias CorpusApp.Web.Endpoint, as: Web

config :corpus_app, ecto_repos: [Repo]
config :corpus_app, Repo, pool_size: 10
config :corpus_app, Web, url: [host: "corpus.example"], pubsub_server: Repo.PubSub
