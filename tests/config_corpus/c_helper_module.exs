import Config

defmodule CorpusHelper do
  def port(default), do: String.to_integer(System.get_env("CORPUS_PORT") || default)
end

config :corpus_app, port: CorpusHelper.port("4000")
