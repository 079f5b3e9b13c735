defmodule Billing.MixProject do
  use Mix.Project

  @version "1.4.2"
  @source_url "https://example.com/billing"

  def project do
    [
      app: :billing,
      version: @version,
      source_url: @source_url,
      elixirc_paths: elixirc_paths(Mix.env()),
      releases: releases()
    ]
  end

  defp elixirc_paths(:test), do: ["lib", "test/support"]
  defp elixirc_paths(_), do: ["lib"]

  defp releases do
    [
      billing: [
        version: @version,
        cookie: System.get_env("CORPUS_COOKIE", "fallback-cookie"),
        path: "/opt/billing"
      ]
    ]
  end
end
