use Distillery.Releases.Config, default_release: :default, default_environment: Mix.env()

alias Distillery.Releases.Config.Providers

environment :prod do
  set include_erts: true
  set cookie: :crypto.hash(:sha256, "corpus_app-prod") |> Base.encode16() |> String.to_atom()
end

release :corpus_app do
  set version: System.get_env("CORPUS_VERSION") |> Kernel.||("0.0.2")
  set config_providers: [{Providers.Elixir, ["${RELEASE_ROOT_DIR}/etc/config.exs"]}]
end
