# relpack's runner of a release's custom `steps:` functions, run by the
# real `elixir` in the project directory after project.exs:
#
#   elixir -e "$(project.exs this file)" NAME ENV TARGET [KEY=VALUE]...
#
# The project is loaded as mix loads it (with the archives mix loads, so
# that Hex's dependencies resolve) and Mix.Release.from_config!/3 itself
# makes the %Mix.Release{} that `mix release NAME` would, with the
# overrides given (`path=DIR`, `version=VSN`, as `mix release --path`).
# Its steps then run in mix's order: each gets the release with the steps
# after it, and returns one.
#
# At each built-in step (:assemble, :tar) and at the end, relpack takes
# over (relpack's :executable comes right after :tar, and is written with
# it): the runner writes one line to its standard output, the external
# term format of
#
#   {:handover, :assemble | :tar | :done, Ran, Changes, Remaining,
#    {Path, VersionPath, Version, Overlays}}
#
# in hexadecimal, where Ran lists the custom steps run since the last line,
# Changes is {Step, Field, Key, Value} for every field of the struct a step
# changed (for `options`, every key; Key is nil for other fields, Value
# :"$relpack_unset" for a removed option) and Remaining the steps still to
# run. It then reads one line from its standard input: `go`, or `root `
# and the hexadecimal external term format of {Dir, Overlays}: the release
# is at Dir now (the struct's path and version_path point there) and its
# overlay directories put Overlays there (mix's assemble puts that list in
# front of the struct's `overlays`). Anything else ends it. A step that fails ends the run with
# {:error, Step, File, Line, Message}. What the steps print goes to
# standard error, so that standard output holds only these lines.

defmodule Relpack.Steps do
  @moduledoc false

  @unset :"$relpack_unset"

  def main([name, env, target | overrides]) do
    Process.group_leader(self(), Process.whereis(:standard_error))
    Mix.start()
    Mix.Local.append_archives()
    Mix.Local.append_paths()
    Relpack.Fallback.load_project(env, target)
    # What the steps say is shown, as `mix release` shows it.
    Mix.shell(Mix.Shell.IO)
    Relpack.Fallback.add_build_paths(env)
    config = with_executable_step(Mix.Project.config(), String.to_atom(name))

    overrides =
      Enum.map(overrides, fn o ->
        [key, value] = String.split(o, "=", parts: 2)
        {String.to_atom(key), value}
      end)

    release = Mix.Release.from_config!(String.to_atom(name), config, overrides)

    loop(release, [])
  end

  # relpack's :executable is not one of mix's steps: from_config!/3 gets a
  # function in its place.
  defp with_executable_step(config, name) do
    Keyword.update(config, :releases, [], fn releases ->
      Enum.map(releases, fn
        {^name, opts} ->
          opts = if is_function(opts, 0), do: opts.(), else: opts
          {name, Keyword.update(opts, :steps, [:assemble], &Enum.map(&1, fn s -> marker(s) end))}

        other ->
          other
      end)
    end)
  end

  defp marker(:executable), do: &__MODULE__.executable/1
  defp marker(step), do: step

  def executable(release), do: release

  # Runs custom steps until a built-in one, or the end; hands over.
  # relpack writes the executable with the tarball, right before it.
  defp loop(%{steps: [step | rest]} = release, ran) do
    cond do
      step == (&__MODULE__.executable/1) -> loop(%{release | steps: rest}, ran)
      is_atom(step) -> loop(handover(step, release, rest, Enum.reverse(ran)), [])
      true -> loop(run(step, %{release | steps: rest}), [step | ran])
    end
  end

  defp loop(%{steps: []} = release, ran), do: handover(:done, release, [], Enum.reverse(ran))

  defp run(step, before) do
    after_step =
      try do
        step.(before)
      rescue
        e -> fail(step, e, __STACKTRACE__)
      catch
        kind, reason -> fail(step, {kind, reason}, __STACKTRACE__)
      end

    case after_step do
      %Mix.Release{} ->
        Process.put(:relpack_changes, Process.get(:relpack_changes, []) ++ changes(step, before, after_step))
        after_step

      other ->
        message = "expected the step to return a Mix.Release, got: #{inspect(other, limit: 5)}"
        send_term({:error, describe(step), "", 0, message})
        System.halt(1)
    end
  end

  defp fail(step, e, stacktrace) do
    {at, line, message} = Relpack.Fallback.failure(e, stacktrace, Path.expand("mix.exs"))
    send_term({:error, describe(step), at, line, message})
    System.halt(1)
  end

  defp describe(step), do: Relpack.Fallback.plain(step) |> elem(2)

  defp changes(step, before, after_step) do
    name = describe(step)
    fields = Map.keys(Map.from_struct(before)) -- [:options]

    changed =
      for field <- fields, Map.fetch!(before, field) != Map.fetch!(after_step, field) do
        {name, field, nil, Relpack.Fallback.plain(Map.fetch!(after_step, field))}
      end

    keys = Enum.uniq(Keyword.keys(before.options) ++ Keyword.keys(after_step.options))

    options =
      for key <- keys,
          old = Keyword.get(before.options, key, @unset),
          new = Keyword.get(after_step.options, key, @unset),
          old != new do
        {name, :options, key, Relpack.Fallback.plain(new)}
      end

    changed ++ options
  end

  defp handover(builtin, release, rest, ran) do
    changes = Process.delete(:relpack_changes) || []
    paths = {release.path, release.version_path, release.version, release.overlays}

    term =
      {:handover, builtin, Enum.map(ran, &describe/1), changes, Relpack.Fallback.plain(rest), paths}

    send_term(term)

    case IO.gets(Process.get(:relpack_channel), "") do
      "root " <> hex ->
        {dir, overlays} = hex |> String.trim_trailing() |> Base.decode16!() |> :erlang.binary_to_term()

        %{
          release
          | path: dir,
            version_path: Path.join([dir, "releases", release.version]),
            overlays: overlays ++ release.overlays,
            steps: rest
        }

      "go\n" ->
        %{release | steps: rest}

      _ ->
        System.halt(0)
    end
  end

  def send_term(term) do
    IO.binwrite(Process.get(:relpack_channel), Base.encode16(:erlang.term_to_binary(term)) <> "\n")
  end
end

# The channel to relpack: standard input and output, before main/1 sends
# everything else to standard error.
Process.put(:relpack_channel, Process.group_leader())

try do
  Relpack.Steps.main(System.argv())
  System.halt(0)
rescue
  e ->
    {at, line, message} = Relpack.Fallback.failure(e, __STACKTRACE__, Path.expand("mix.exs"))
    Relpack.Steps.send_term({:error, nil, at, line, message})
    System.halt(1)
end
