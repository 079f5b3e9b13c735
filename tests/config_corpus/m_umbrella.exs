defmodule Platform.Umbrella.MixProject do
  use Mix.Project

  def project do
    [
      apps_path: "apps",
      version: "0.1.0",
      start_permanent: Mix.env() == :prod,
      deps: [],
      default_release: :backend,
      releases: [
        backend: [
          applications: [accounts: :permanent, billing: :permanent],
          version: "2.0.0"
        ],
        frontend: [
          applications: [web: :permanent, accounts: :load],
          version: "2.0.0",
          include_erts: false
        ]
      ]
    ]
  end
end
