use Mix.Config

config :corpus_app, key: :value

import_config "support/*.exs"
