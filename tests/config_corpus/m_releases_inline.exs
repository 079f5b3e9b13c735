defmodule Shop.MixProject do
  use Mix.Project

  def project do
    [
      app: :shop,
      version: "0.9.0",
      elixir: "~> 1.14",
      start_permanent: Mix.env() == :prod,
      deps: deps(),
      releases: [
        shop: [
          include_executables_for: [:unix],
          applications: [runtime_tools: :permanent],
          include_erts: true,
          steps: [:assemble, :tar]
        ]
      ]
    ]
  end

  defp deps do
    [{:jason, "~> 1.4"}, {:plug_cowboy, github: "elixir-plug/plug_cowboy"}]
  end
end
