import Config

# Operators called as Kernel functions, as pipes need them.
region = System.get_env("CORPUS_REGION") |> Kernel.||("eu-west")
debug = System.get_env("CORPUS_DEBUG") |> Kernel.==("1")

config :corpus_app,
  region: region,
  host: region |> Kernel.<>(".corpus.example"),
  debug: debug,
  label: Kernel.to_string(:corpus) |> Kernel.<>("-") |> Kernel.<>(Kernel.to_string(2)),
  paths: ["lib"] |> Kernel.++(["priv"])
