#!/usr/bin/env escript
%% -*- erlang -*-
%% The oracle for relpack's boot files, run with the real Erlang/OTP.
%%
%% oracle.escript script RELEASE_DIR NAME VSN WORK_DIR
%%   For `start` and `start_clean`: builds the script with
%%   systools:make_script/2 from relpack's own .rel (start_clean: kernel and
%%   stdlib permanent, the rest load), OTP applications from this OTP's lib
%%   dir and the rest from RELEASE_DIR/lib under the RELEASE_LIB variable, as
%%   mix release does. Compares it, as terms, with relpack's .script (after
%%   removing the consolidated protocols path, which mix release adds after
%%   systools), and checks that relpack's .boot is byte-identical to
%%   term_to_binary/1 of relpack's script.
%%   A `{apply,{'Elixir.Config.Provider',boot,[]}}` (runtime configuration)
%%   must come right after stdlib starts, where mix release puts it; it is
%%   removed before comparing, as systools knows nothing of it.
%% oracle.escript relup RELEASE_DIR NAME VSN FROM[,FROM...] WORK_DIR
%%   systools:make_relup/4 for RELEASE_DIR/releases/VSN/NAME.rel from (and
%%   back to) each releases/FROM/NAME.rel, the applications and their appups
%%   (relpack's) from RELEASE_DIR/lib/*/ebin; compares the relup, as a
%%   term, with relpack's releases/VSN/relup.
%% oracle.escript rel_equal FILE_A FILE_B
%%   Whether two .rel files hold the same term.
%% oracle.escript config_equal FILE_A FILE_B
%%   Whether two sys.config files hold the same term and the same
%%   `%% RUNTIME_CONFIG=` line.
main(["script", RelDir, Name, Vsn, Work]) ->
    VsnDir = filename:join([RelDir, "releases", Vsn]),
    {ok, [{release, _, _, Apps} = Rel]} = file:consult(filename:join(VsnDir, Name ++ ".rel")),
    Lib = filename:join(RelDir, "lib"),
    Paths = [ebin(Lib, element(1, A), element(2, A)) || A <- Apps],
    Clean = setelement(4, Rel, [clean(A) || A <- Apps]),
    Consolidated = "$RELEASE_LIB/../releases/" ++ Vsn ++ "/consolidated",
    R1 = check("start", Rel, VsnDir, Paths, Lib, Work, Consolidated),
    R2 = check("start_clean", Clean, VsnDir, Paths, Lib, Work, Consolidated),
    halt(case {R1, R2} of {ok, ok} -> 0; _ -> 1 end);
main(["relup", RelDir, Name, Vsn, From, Work]) ->
    Rel = fun(V) -> filename:join([RelDir, "releases", V, Name]) end,
    Opts = [silent, {path, [filename:join([RelDir, "lib", "*", "ebin"])]}, {outdir, Work}],
    Froms = [Rel(F) || F <- string:split(From, ",", all)],
    case systools:make_relup(Rel(Vsn), Froms, Froms, Opts) of
        {ok, Theirs, _, _Warnings} ->
            {ok, [Ours]} = file:consult(filename:join([RelDir, "releases", Vsn, "relup"])),
            case Ours =:= Theirs of
                true -> io:format("relup equals systools~n"), halt(0);
                false ->
                    io:format("relup differs:~nrelpack:~n~p~nsystools:~n~p~n", [Ours, Theirs]),
                    halt(1)
            end;
        Error ->
            io:format("systools failed: ~p~n", [Error]),
            halt(1)
    end;
main(["rel_equal", A, B]) ->
    {ok, TA} = file:consult(A),
    {ok, TB} = file:consult(B),
    case TA =:= TB of
        true -> io:format("rel equal~n"), halt(0);
        false -> io:format("rel differs:~n~p~n~p~n", [TA, TB]), halt(1)
    end;
main(["config_equal", A, B]) ->
    {ok, TA} = file:consult(A),
    {ok, TB} = file:consult(B),
    {RA, RB} = {runtime_line(A), runtime_line(B)},
    case {TA =:= TB, RA =:= RB} of
        {true, true} -> io:format("config equal~n"), halt(0);
        _ -> io:format("config differs:~n~s~n~p~n~s~n~p~n", [RA, TA, RB, TB]), halt(1)
    end;
main(_) ->
    io:format(standard_error, "usage: see the header of this file~n", []),
    halt(2).

runtime_line(File) ->
    {ok, Bin} = file:read_file(File),
    [L || L <- string:split(binary_to_list(Bin), "\n", all), lists:prefix("%% RUNTIME_CONFIG=", L)].

clean({App, Vsn, _Type}) when App =:= kernel; App =:= stdlib -> {App, Vsn, permanent};
clean({App, Vsn, _Type}) -> {App, Vsn, load};
clean({App, Vsn, _Type, Incl}) -> {App, Vsn, load, Incl}.

%% OTP's own applications come from this OTP; everything else from the release.
ebin(Lib, App, Vsn) ->
    Otp = filename:join([code:root_dir(), "lib", atom_to_list(App) ++ "-" ++ Vsn]),
    case filelib:is_dir(Otp) of
        true -> filename:join(Otp, "ebin");
        false -> filename:join([Lib, atom_to_list(App) ++ "-" ++ Vsn, "ebin"])
    end.

check(Boot, Rel, VsnDir, Paths, Lib, Work, Consolidated) ->
    Base = filename:join(Work, Boot),
    ok = file:write_file(Base ++ ".rel", io_lib:format("~tp.~n", [Rel])),
    Opts = [silent, no_dot_erlang, no_warn_sasl, {path, Paths}, {outdir, Work},
            {variables, [{"RELEASE_LIB", Lib}]}],
    case systools:make_script(Base, Opts) of
        {ok, _, _} ->
            {ok, [Theirs]} = file:consult(Base ++ ".script"),
            {ok, [Ours]} = file:consult(filename:join(VsnDir, Boot ++ ".script")),
            {ok, BootBin} = file:read_file(filename:join(VsnDir, Boot ++ ".boot")),
            Stripped = strip_provider(strip_consolidated(Ours, Consolidated)),
            BootOk = BootBin =:= term_to_binary(Ours),
            case {Stripped =:= Theirs, BootOk} of
                {true, true} ->
                    io:format("~s: script equals systools, boot is term_to_binary~n", [Boot]),
                    ok;
                {Same, _} ->
                    io:format("~s: script equal: ~p, boot equal: ~p~n", [Boot, Same, BootOk]),
                    report_diff(Stripped, Theirs),
                    error
            end;
        Error ->
            io:format("~s: systools failed: ~p~n", [Boot, Error]),
            error
    end.

strip_consolidated({script, Id, Instructions}, Dir) ->
    {script, Id, [case I of
                      {path, Ps} -> {path, [P || P <- Ps, P =/= Dir]};
                      _ -> I
                  end || I <- Instructions]}.

-define(PROVIDER, {apply, {'Elixir.Config.Provider', boot, []}}).

strip_provider({script, Id, Instructions}) ->
    {script, Id, strip_provider(Instructions, [])}.

strip_provider([{apply, {application, start_boot, [stdlib, _]}} = S, ?PROVIDER | Rest], Acc) ->
    strip_provider(Rest, [S | Acc]);
strip_provider([?PROVIDER | _], _Acc) ->
    error(config_provider_not_right_after_stdlib);
strip_provider([I | Rest], Acc) ->
    strip_provider(Rest, [I | Acc]);
strip_provider([], Acc) ->
    lists:reverse(Acc).

report_diff({script, IdA, A}, {script, IdB, B}) ->
    IdA =:= IdB orelse io:format("ids differ: ~p ~p~n", [IdA, IdB]),
    io:format("instructions: relpack ~p, systools ~p~n", [length(A), length(B)]),
    first_diff(A, B, 1).

first_diff([X | A], [X | B], N) -> first_diff(A, B, N + 1);
first_diff([X | _], [Y | _], N) -> io:format("first difference at ~p:~nrelpack:  ~p~nsystools: ~p~n", [N, X, Y]);
first_diff(A, B, N) -> io:format("lengths differ after ~p: ~p ~p~n", [N, length(A), length(B)]).
