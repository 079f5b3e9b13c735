defmodule Guarded.MixProject do
  use Mix.Project

  @version_file "support/never-there-VERSION"
  @version with {:ok, v} <- File.read(@version_file), do: String.trim(v), else: (_ -> nil)

  def project do
    [
      app: :guarded,
      version: version(),
      releases: releases(Mix.env())
    ]
  end

  defp version(default \\ "0.3.0"), do: @version || default

  defp releases(env) when env in [:prod, :staging] do
    [guarded: [include_erts: include_erts(env), cookie: cookie(env)]]
  end

  defp releases(_env), do: []

  defp include_erts(env) when is_atom(env) and env != :dev, do: true
  defp include_erts(_), do: false

  defp cookie(env) do
    case Atom.to_string(env) do
      name when byte_size(name) > 3 -> name <> "-cookie"
      _ -> "short"
    end
  end
end
