# relpack's evaluator for configuration code beyond relpack's native subset,
# run by the real `elixir` in the project directory:
#
#   elixir -e "$(project.exs this file)" MODE FILE ENV TARGET OUT
#
# MODE is `mix` (the project's mix.exs), `config` (a config/*.exs file, read
# by Config.Reader as mix reads it) or `distillery` (a rel/config.exs, run
# unmodified under a Distillery DSL written for relpack). The project's
# mix.exs is loaded by Mix itself first, with Mix.env/0 and Mix.target/0 set,
# so that Mix.Project.config/0 and friends answer for this project as they
# do inside mix. The result is written to OUT as one Erlang term:
# `{ok, Value}`, or `{error, File, Line, Message}` when the file (or one it
# imports) raised.

defmodule Relpack.Fallback.Distillery do
  @moduledoc false
  # Distillery's rel/config.exs vocabulary, collected in the process
  # dictionary in the order the file runs: each `set` records its keys with
  # the line it is on.

  def start, do: Process.put(:relpack_distillery, %{use: nil, envs: [], rels: [], scope: nil})
  defp get, do: Process.get(:relpack_distillery)
  defp put(state), do: Process.put(:relpack_distillery, state)

  def use(opts, line), do: put(%{get() | use: {plain_opts(opts), line}})

  defp plain_opts(opts), do: Relpack.Fallback.plain(opts)

  def enter(kind, name, line) do
    state = get()
    if state.scope, do: raise(ArgumentError, "`#{kind}` inside another block")
    key = if kind == :release, do: :rels, else: :envs
    items = Map.fetch!(state, key)

    items =
      if List.keymember?(items, name, 0),
        do: items,
        else: items ++ [{name, line, []}]

    put(%{state | key => items, scope: {key, name}})
  end

  def leave, do: put(%{get() | scope: nil})

  def set(opts, line) do
    unless Keyword.keyword?(opts), do: raise(ArgumentError, "`set` expects key: value pairs")
    update(fn settings -> settings ++ Enum.map(opts, fn {k, v} -> {k, Relpack.Fallback.plain(v), line} end) end)
  end

  def plugin(module, opts, line) do
    update(fn settings -> settings ++ [{:plugin, Relpack.Fallback.plain({module, opts}), line}] end)
  end

  defp update(fun) do
    state = get()

    case state.scope do
      nil ->
        raise ArgumentError, "`set` or `plugin` outside an environment or release block"

      {key, name} ->
        items =
          Enum.map(Map.fetch!(state, key), fn
            {^name, line, settings} -> {name, line, fun.(settings)}
            other -> other
          end)

        put(%{state | key => items})
    end
  end

  # The compiled application's version, else its mix.exs's (the project's
  # own, or an umbrella child's), as relpack's native reading does.
  def current_version(app) do
    Application.load(app)
    child = Path.join("apps", to_string(app))

    cond do
      vsn = Application.spec(app, :vsn) ->
        to_string(vsn)

      Mix.Project.config()[:app] == app ->
        Mix.Project.config()[:version]

      File.regular?(Path.join(child, "mix.exs")) ->
        Mix.Project.in_project(app, child, fn _ -> Mix.Project.config()[:version] end)

      true ->
        raise ArgumentError, "current_version(#{inspect(app)}): no compiled or mix.exs version of `#{app}`"
    end
  end

  def result do
    state = get()
    {:distillery, state.use, state.envs, state.rels}
  end
end

for config <- [Distillery.Releases.Config, Mix.Releases.Config] do
  defmodule config do
    @moduledoc false
    defmacro __using__(opts) do
      line = __CALLER__.line

      quote do
        import unquote(__MODULE__), only: :macros
        Relpack.Fallback.Distillery.use(unquote(opts), unquote(line))
      end
    end

    defmacro environment(name, do: block), do: scoped(:environment, name, block, __CALLER__.line)
    defmacro release(name, do: block), do: scoped(:release, name, block, __CALLER__.line)

    defp scoped(kind, name, block, line) do
      quote do
        Relpack.Fallback.Distillery.enter(unquote(kind), unquote(name), unquote(line))
        unquote(block)
        Relpack.Fallback.Distillery.leave()
      end
    end

    defmacro set(opts) do
      quote do: Relpack.Fallback.Distillery.set(unquote(opts), unquote(__CALLER__.line))
    end

    defmacro plugin(module, opts \\ []) do
      quote do: Relpack.Fallback.Distillery.plugin(unquote(module), unquote(opts), unquote(__CALLER__.line))
    end

    defmacro current_version(app) do
      quote do: Relpack.Fallback.Distillery.current_version(unquote(app))
    end
  end
end

# Plugin files (rel/plugins/*.exs) define modules that use Distillery's
# plugin behaviour; relpack runs none of their callbacks, but their
# modules must compile.
for plugin <- [Distillery.Releases.Plugin, Mix.Releases.Plugin] do
  defmodule plugin do
    @moduledoc false
    defmacro __using__(_opts) do
      quote do
        import unquote(__MODULE__), only: [info: 1, debug: 1, warn: 1, notice: 1, error: 1]
      end
    end

    for level <- [:info, :debug, :warn, :notice, :error], do: def(unquote(level)(_message), do: :ok)
  end
end

[mode, file, env, target, out] = System.argv()

result =
  try do
    Relpack.Fallback.load_project(env, target)

    value =
      case mode do
        "mix" ->
          # A release's options may be a function, which mix calls.
          Mix.Project.config()
          |> Keyword.update(:releases, [], fn
            releases when is_list(releases) ->
              for {name, opts} <- releases, do: {name, if(is_function(opts, 0), do: opts.(), else: opts)}

            other ->
              other
          end)

        "config" ->
          Config.Reader.read!(file, env: String.to_atom(env), target: String.to_atom(target))

        "distillery" ->
          Relpack.Fallback.add_build_paths(env)
          Relpack.Fallback.Distillery.start()
          Code.eval_file(file)
          Relpack.Fallback.Distillery.result()
      end

    {:ok, Relpack.Fallback.plain(value)}
  rescue
    e ->
      {at, line, message} = Relpack.Fallback.failure(e, __STACKTRACE__, file)
      {:error, at, line, message}
  catch
    kind, reason ->
      {at, line, message} = Relpack.Fallback.failure({kind, reason}, __STACKTRACE__, file)
      {:error, at, line, message}
  end

File.write!(out, :unicode.characters_to_binary(:io_lib.format(~c"%% coding: utf-8~n~tp.~n", [result])))
