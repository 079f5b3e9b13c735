use Distillery.Releases.Config, default_release: :default, default_environment: Mix.env()

environment :prod do
  set include_erts: true
  set strip_debug: true
end

release :corpus_app do
  set version: current_version(:corpus_app)
end
