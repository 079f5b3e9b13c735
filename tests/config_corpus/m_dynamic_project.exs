defmodule Dyn.MixProject do
  use Mix.Project

  @app :dyn

  def project do
    base = [app: @app, version: version()]
    base ++ [releases: [{@app, [overlays: ["rel/overlays", "rel/extra"]]}]]
  end

  defp version do
    case System.get_env("CORPUS_VERSION") do
      nil -> "0.0.0-dev"
      v -> String.trim(v)
    end
  end
end
