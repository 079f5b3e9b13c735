use Distillery.Releases.Config, default_release: :default, default_environment: Mix.env()

release :corpus_app do
  set version: ~s(3.1.#{1_0})
  set cookie: 'charlist-cookie'
  set applications: ~w(sasl crypto)a ++ [{:"quoted-app", :none}]
  set overlay_vars: [limit: 0x10, ratio: 1.5e2, tags: ~w(a b), map: %{"k" => {1, :two}}, neg: -3]
end
