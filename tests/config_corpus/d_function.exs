use Distillery.Releases.Config, default_release: :default, default_environment: Mix.env()

environment :prod do
  set include_erts: true
end

release :corpus_app do
  set version: current_version(:corpus_app)
  set applications: Enum.map([:a, :b], fn app -> {app, :permanent} end)
end
