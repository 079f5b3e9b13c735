~w(rel plugins *.exs)
|> Path.join()
|> Path.wildcard()
|> Enum.map(&Code.eval_file(&1))

use Distillery.Releases.Config, default_release: :default, default_environment: Mix.env()

environment :prod do
  set include_erts: true
  plugin Conform.ReleasePlugin
end

release :corpus_app do
  set version: current_version(:corpus_app)
  plugin MyApp.PhoenixDigestTask
end
