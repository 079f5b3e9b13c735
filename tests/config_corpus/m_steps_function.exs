defmodule Steps.MixProject do
  use Mix.Project

  def project do
    [
      app: :steps,
      version: "0.1.0",
      releases: [
        steps: [
          steps: [:assemble, &copy_extra_files/1, :tar]
        ]
      ]
    ]
  end

  defp copy_extra_files(release), do: release
end
