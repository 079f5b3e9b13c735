use Distillery.Releases.Config, default_release: :default, default_environment: Mix.env()

environment :prod do
  set include_erts: true
  # The cookie comes from the build machine's environment.
  set cookie: System.get_env("CORPUS_COOKIE") |> String.to_atom()
end

release :corpus_app do
  set version: current_version(:corpus_app)
end
