use Mix.Config

config :corpus_app, env: Mix.env(), target: Mix.target()

if Mix.env() == :prod do
  config :corpus_app, CorpusApp.Mailer, adapter: Swoosh.Adapters.SMTP, retries: 3
else
  config :corpus_app, CorpusApp.Mailer, adapter: Swoosh.Adapters.Local
end

config :corpus_app, CorpusApp.Mailer, relay: "smtp.example.com"
