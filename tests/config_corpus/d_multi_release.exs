use Mix.Releases.Config,
  default_release: :api,
  default_environment: :prod

environment :staging do
  set include_erts: true
  set overlay_vars: [env_name: "staging"]
end

environment :prod do
  set include_erts: true
  set overlay_vars: [env_name: "production"]
end

release :web do
  set version: "1.0.0"
  set applications: [web: :permanent]
end

release :api do
  set version: "1.2.0"
  set applications: [api: :permanent, shared: :load]
end
