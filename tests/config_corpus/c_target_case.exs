import Config

config :corpus_app, target: config_target()

case config_target() do
  :host ->
    config :corpus_app, storage: "/tmp/corpus"

  _ ->
    config :corpus_app, storage: "/data"
end

unless config_env() == :test do
  config :corpus_app, debug: System.get_env("CORPUS_DEBUG") && true, name: nil || "corpus"
end
