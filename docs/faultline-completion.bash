# bash completion for faultline(1). Installed as share/bash-completion/completions/faultline
# (cmake/FaultlinePackage.cmake), where bash-completion loads it on first use; or source it.
# Completes the subcommands, each one's options, --dialect's names, --filter's scenario names
# from the catalog in use (faultline version --paths), commands after --client, and files.

_faultline() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
    local cmd=${COMP_WORDS[1]:-}
    COMPREPLY=()
    if [ "$COMP_CWORD" -eq 1 ]; then
        mapfile -t COMPREPLY < <(compgen -W 'run serve proxy validate import version help --version --help' -- "$cur")
        return
    fi
    case $cmd in
    run)
        case $prev in
        -c | --client | --relay)
            mapfile -t COMPREPLY < <(compgen -c -- "$cur")
            return
            ;;
        --downstream)
            mapfile -t COMPREPLY < <(compgen -W 'openai-chat openai-responses anthropic-messages
                text ndjson ai-sdk-ui' -- "$cur")
            return
            ;;
        --relay-url | --relay-request | --relay-start-ms)
            return
            ;;
        --dialect)
            # a comma-separated list: complete the name after the last comma
            local done=${cur%"${cur##*,}"}
            mapfile -t COMPREPLY < <(compgen -P "$done" \
                -W 'openai-chat openai-responses anthropic-messages gemini' -- "${cur##*,}")
            return
            ;;
        --filter)
            local catalog
            catalog=$("${COMP_WORDS[0]}" version --paths 2>/dev/null |
                sed -n 's/^catalog: *\(.*\) ([^)]*)$/\1/p')
            [ -d "$catalog" ] && mapfile -t COMPREPLY < <(compgen -W \
                "$(grep -rhoE --include='*.yaml' --include='*.yml' '^name: *[^ #]+' "$catalog" |
                    sed 's/^name: *//')" -- "$cur")
            return
            ;;
        -j | --jobs | --repeat | --shard | --seed | --min-score)
            return # a number: nothing to offer
            ;;
        --order)
            mapfile -t COMPREPLY < <(compgen -W 'longest file' -- "$cur")
            return
            ;;
        --json | --junit | --html | --summary | --cacert)
            mapfile -t COMPREPLY < <(compgen -f -- "$cur")
            return
            ;;
        esac
        if [[ $cur == -* ]]; then
            mapfile -t COMPREPLY < <(compgen -W '--client --jobs --repeat --filter --dialect
                --shard --seed --min-score --json --junit --html --summary --exitfirst
                --keep-going --no-color --order --upstream --cacert --help --relay --downstream
                --relay-url --relay-request --relay-start-ms' -- "$cur")
            return
        fi
        ;;
    serve)
        case $prev in
        --host | --port | --max-body | --header-timeout-ms | --body-timeout-ms | \
        --idle-timeout-ms | --journal-bytes | --threads) return ;;
        --record)
            mapfile -t COMPREPLY < <(compgen -d -- "$cur")
            return
            ;;
        esac
        if [[ $cur == -* ]]; then
            mapfile -t COMPREPLY < <(compgen -W '--host --port --max-body --header-timeout-ms --body-timeout-ms
                --idle-timeout-ms --journal-bytes --threads --record --help' -- "$cur")
            return
        fi
        ;;
    import)
        case $prev in
        -o | --output)
            mapfile -t COMPREPLY < <(compgen -d -- "$cur")
            return
            ;;
        esac
        if [[ $cur == -* ]]; then
            mapfile -t COMPREPLY < <(compgen -W '--output -o --help' -- "$cur")
            return
        fi
        ;;
    proxy)
        case $prev in
        --upstream | --host | --port | --connect-timeout-ms | --max-body) return ;;
        --cacert | --record)
            mapfile -t COMPREPLY < <(compgen -f -- "$cur")
            return
            ;;
        esac
        if [[ $cur == -* ]]; then
            mapfile -t COMPREPLY < <(compgen -W '--upstream --host --port --cacert --record
                --connect-timeout-ms --max-body --help' -- "$cur")
            return
        fi
        ;;
    validate)
        if [[ $cur == -* ]]; then
            mapfile -t COMPREPLY < <(compgen -W '--help' -- "$cur")
            return
        fi
        ;;
    version)
        mapfile -t COMPREPLY < <(compgen -W '--paths --help' -- "$cur")
        return
        ;;
    *)
        return
        ;;
    esac
    # scenario files and folders
    mapfile -t COMPREPLY < <(compgen -f -- "$cur")
}
complete -o filenames -o bashdefault -F _faultline faultline
