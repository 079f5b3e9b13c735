use Distillery.Releases.Config, default_release: :default, default_environment: Mix.env()

environment :prod do
  set overlay_vars: [env: "#{Mix.env()}", region: System.get_env("CORPUS_REGION") || "eu-west-1"]
end

release :corpus_app do
  set version: current_version(:corpus_app)
  set overlays: [
    {:mkdir, "releases/<%= release_version %>/tmp"},
    {:copy, "rel/etc/app.conf", "etc/app.conf"},
    {:template, "rel/etc/motd.eex", "etc/motd"},
    {:link, "rel/etc/shared", "etc/shared"}
  ]
end
