# The project as mix sees it, for relpack's scripts run by the real
# `elixir` in the project directory (fallback.exs and steps.exs come after
# this file): Mix started with the build's environment and target, the
# project's mix.exs loaded by Mix itself, values with no literal form made
# describable, and failures placed in the project's files.

defmodule Relpack.Fallback do
  @moduledoc false

  # Values that have no literal form (functions, pids, references, ports)
  # are replaced by `{:"$relpack_opaque", Kind, Description}`, so that
  # relpack can name them (a step function, say) instead of guessing.
  def plain(value) when is_function(value), do: {:"$relpack_opaque", :function, describe(value)}

  def plain(value) when is_pid(value) or is_reference(value) or is_port(value),
    do: {:"$relpack_opaque", :value, inspect(value)}

  def plain(value) when is_list(value), do: plain_list(value)
  def plain(value) when is_tuple(value), do: value |> Tuple.to_list() |> Enum.map(&plain/1) |> List.to_tuple()

  # Structs too: `:maps` does not go through the Enumerable protocol.
  def plain(value) when is_map(value),
    do: :maps.from_list(for {k, v} <- :maps.to_list(value), do: {plain(k), plain(v)})

  def plain(value), do: value

  # Improper lists keep their tail.
  defp plain_list([]), do: []
  defp plain_list([h | t]), do: [plain(h) | plain_list(t)]
  defp plain_list(tail), do: plain(tail)

  defp describe(fun) do
    info = Function.info(fun)
    name = Atom.to_string(info[:name])

    cond do
      info[:type] == :external -> "&#{inspect(info[:module])}.#{name}/#{info[:arity]}"
      not String.starts_with?(name, "-") -> "&#{name}/#{info[:arity]}"
      true -> "fn/#{info[:arity]} in #{inspect(info[:module])}"
    end
  end

  def load_project(env, target) do
    Mix.start()
    Mix.shell(Mix.Shell.Quiet)
    Mix.env(String.to_atom(env))
    Mix.target(String.to_atom(target))
    # As mix does: mix.exs may name modules of dependencies not loaded yet.
    if File.regular?("mix.exs") do
      Code.put_compiler_option(:no_warn_undefined, :all)
      Code.compile_file("mix.exs")
      Code.put_compiler_option(:no_warn_undefined, [])
    end
  end

  # The compiled applications of this environment, for current_version/1
  # and for modules the file names, as after `mix compile`.
  def add_build_paths(env) do
    for ebin <- Path.wildcard(Path.join(["_build", env, "lib", "*", "ebin"])),
        do: Code.prepend_path(ebin)
  end

  # The innermost stack frame in a configuration script of the project
  # (`file` or one it imports or evaluates: an .exs file there), as
  # `{path, line}`; else `file` with line 0.
  def where(stacktrace, file) do
    project = File.cwd!()

    Enum.find_value(stacktrace, {file, 0}, fn {_, _, _, location} ->
      with path when path != nil <- location[:file],
           full = Path.expand(to_string(path)),
           true <- String.ends_with?(full, ".exs"),
           true <- String.starts_with?(full, project <> "/"),
           true <- File.regular?(full) do
        {full, location[:line] || 0}
      else
        _ -> nil
      end
    end)
  end

  # What raised (an exception, or a throw or exit as {kind, reason}), as
  # {file, line, message}: where in the project's scripts, and the
  # message's first lines joined.
  def failure({kind, reason}, stacktrace, file) when kind in [:throw, :exit, :error] do
    {at, line} = where(stacktrace, file)
    {at, line, "#{kind}: #{inspect(reason)}"}
  end

  def failure(e, stacktrace, file) do
    {at, line} =
      case e do
        %{file: at, line: line} when is_binary(at) and is_integer(line) -> {at, line}
        _ -> where(stacktrace, file)
      end

    message =
      e
      |> Exception.message()
      |> String.split("\n", trim: true)
      |> Enum.map(&String.trim/1)
      |> Enum.reject(&(&1 == ""))
      |> Enum.take(3)
      |> Enum.join(" ")

    {Path.expand(at), line, message}
  end
end
