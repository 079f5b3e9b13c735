use Distillery.Releases.Config, default_release: :default, default_environment: Mix.env()

erts =
  case System.get_env("CORPUS_ERTS") do
    nil -> true
    "" -> true
    path -> path
  end

environment :prod do
  set include_erts: erts
  if System.get_env("CORPUS_DEBUG") == "1" do
    set strip_debug_info: false
  else
    set strip_debug_info: true
  end
  unless Mix.env() == :prod, do: set(dev_mode: true)
end

release :corpus_app do
  set version: current_version(:corpus_app)
end
