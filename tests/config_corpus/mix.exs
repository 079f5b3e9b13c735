# The project the Distillery files of this corpus belong to (their
# current_version(:corpus_app) reads it).
defmodule CorpusApp.MixProject do
  use Mix.Project

  def project do
    [app: :corpus_app, version: "2.0.1", elixir: "~> 1.14", deps: []]
  end
end
