# The release configuration of {{ rel_name }}, in Distillery's format, written
# by `relpack init`. relpack reads it natively (no BEAM at build time):
# `relpack config` shows what it resolved, `relpack build` builds it.

# Distillery plugins are Elixir code run at build time; relpack recognises
# this prelude and runs none of them.
~w(rel plugins *.exs)
|> Path.join()
|> Path.wildcard()
|> Enum.map(&Code.eval_file(&1))

use Distillery.Releases.Config,
  # The release built when --name is not given (:default is the first).
  default_release: :default,
  # The environment used: the one named like the Mix env, else this one.
  default_environment: Mix.env()

# Environment settings win over the release's.
environment :dev do
  # Rely on the Erlang installed where it runs.
  set include_erts: false
  set cookie: :"{{ dev_cookie }}"
end

environment :prod do
  # Bundle ERTS so the release runs where no Erlang is installed.
  set include_erts: true
  set include_src: false
  set cookie: :"{{ prod_cookie }}"
  set vm_args: "rel/vm.args"
end

release :{{ rel_name }} do
  set version: {{ version }}
  set applications: [
{%- for app in apps %}
    {{ app }}: :permanent{% if not loop.last %},{% endif %}
{%- endfor %}
  ]
  # More options: overlays, overlay_vars, commands, pre_start_hooks, ...
  # (see relpack's README).
end
