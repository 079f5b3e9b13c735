use Distillery.Releases.Config,
  default_release: :default,
  default_environment: Mix.env()

environment :prod do
  set include_erts: true
  set include_src: false
  set cookie: :umbrella_cookie
end

release :platform do
  set version: "0.5.0"
  set applications: [
    :runtime_tools,
    accounts: :permanent,
    billing: :permanent,
    web: :permanent,
    admin_tools: :load
  ]
end
