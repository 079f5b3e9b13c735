# Import all plugins from `rel/plugins`
# They can then be used by adding `plugin MyPlugin` to
# either an environment, or release definition, where
# `MyPlugin` is the name of the plugin module.
~w(rel plugins *.exs)
|> Path.join()
|> Path.wildcard()
|> Enum.map(&Code.eval_file(&1))

use Distillery.Releases.Config,
    # This sets the default release built by `mix distillery.release`
    default_release: :default,
    # This sets the default environment used by `mix distillery.release`
    default_environment: Mix.env()

# For a full list of config options for both releases
# and environments, visit https://hexdocs.pm/distillery/config/distillery.html

environment :dev do
  # If you are running Phoenix, you should make sure that
  # server: true is set and the code reloader is disabled,
  # even in dev mode.
  set dev_mode: true
  set include_erts: false
  set cookie: :"<&/Y)4Ek`pmV}@s[Q5&b~p)@QbhJgLb@Ct^[$ss$^bV5v]Nw?^UE9)M?HhGJ0$H"
end

environment :prod do
  set include_erts: true
  set include_src: false
  set cookie: :"gfWyXk6c{9Kzm(T]}3s`!N%F3@XrZ1C@.yoXf7_]NfFZ1V<VhqWF2wN7~7DpE$%C"
  set vm_args: "rel/vm.args"
end

# You may define one or more releases in this file.
# If you have not set a default release, or selected one
# when running `mix distillery.release`, the first release in the file
# will be used by default

release :corpus_app do
  set version: current_version(:corpus_app)
  set applications: [
    :runtime_tools
  ]
end
