import Config

pool_size =
  case System.get_env("CORPUS_POOL_SIZE", "25") do
    nil -> 10
    "" -> 10
    size when is_binary(size) and byte_size(size) < 4 -> String.to_integer(size)
    _ -> 100
  end

mode =
  case config_env() do
    env when env in [:prod, :staging] -> :release
    _ -> :local
  end

config :corpus_app, CorpusApp.Repo, pool_size: pool_size, mode: mode, marker: <<0, 255, "k">>
