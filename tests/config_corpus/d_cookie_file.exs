use Distillery.Releases.Config, default_release: :default, default_environment: Mix.env()

cookie_path = Path.join([__DIR__, "support", "cookie.txt"])

environment :prod do
  set cookie: cookie_path |> File.read!() |> String.trim() |> String.to_atom()
end

release :corpus_app do
  set version: "0.0.1"
end
