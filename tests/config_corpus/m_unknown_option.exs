defmodule Typo.MixProject do
  use Mix.Project

  def project do
    [
      app: :typo,
      version: "0.1.0",
      releases: [
        typo: [
          include_erts: true,
          stripbeams: false
        ]
      ]
    ]
  end
end
