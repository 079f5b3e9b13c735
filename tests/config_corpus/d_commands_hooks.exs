use Distillery.Releases.Config, default_release: :default, default_environment: Mix.env()

environment :prod do
  set include_erts: true
end

release :corpus_app do
  set version: current_version(:corpus_app)
  set commands: [
    migrate: "rel/commands/migrate.sh",
    seed: "rel/commands/seed.sh"
  ]
  set pre_start_hooks: "rel/hooks/pre_start",
      post_start_hooks: "rel/hooks/post_start"
  set erl_opts: "+sbwt none +K true"
  set no_dot_erlang: true
end
