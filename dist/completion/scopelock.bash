# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
# bash completion for scopelock(1). Installed as
# $(PREFIX)/share/bash-completion/completions/scopelock.

_scopelock_ids()
{
	# hold ids (approve, deny) or session ids (end, tail --session) of the
	# running daemon; nothing when it does not answer
	local what=$1 sock=$2
	scopelock ${sock:+--socket "$sock"} status --json 2>/dev/null |
		tr ',{}[]' '\n\n\n\n\n' |
		sed -n "s/^ *\"$what\": *\"\\([^\"]*\\)\".*/\\1/p"
}

_scopelock()
{
	local cur prev words cword sock="" cmd="" i
	_init_completion || return

	local commands="run status metrics tail verify replay report policy approve deny end shutdown checkpoint-setup"
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		-s | --socket)
			sock=${words[i + 1]}
			((i++))
			;;
		-*) ;;
		*)
			cmd=${words[i]}
			break
			;;
		esac
	done

	if [[ -z $cmd ]]; then
		case $prev in
		-s | --socket)
			_filedir
			return
			;;
		esac
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--socket --help --version" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$commands" -- "$cur"))
		fi
		return
	fi

	case $cmd in
	run)
		case $prev in
		-e | --scope | -n | --name) return ;;
		-w | --workspace)
			_filedir -d
			return
			;;
		-u | --user)
			COMPREPLY=($(compgen -u -- "$cur"))
			return
			;;
		esac
		# after --, the command and its arguments
		for ((i = 2; i < cword; i++)); do
			if [[ ${words[i]} == -- ]]; then
				_command_offset $((i + 1))
				return
			fi
		done
		COMPREPLY=($(compgen -W "--scope --workspace --user --allow-root --name --quiet --notify-desktop --help --" -- "$cur"))
		;;
	status) COMPREPLY=($(compgen -W "--json --help" -- "$cur")) ;;
	report)
		if [[ $cur != -* ]]; then
			_filedir
			return
		fi
		COMPREPLY=($(compgen -W "--json --help" -- "$cur"))
		;;
	shutdown) COMPREPLY=($(compgen -W "--no-wait --help" -- "$cur")) ;;
	replay)
		if [[ $prev == -p || $prev == --policy || $cur != -* ]]; then
			_filedir
			return
		fi
		COMPREPLY=($(compgen -W "--policy --json --all --help" -- "$cur"))
		;;
	metrics)
		if [[ $prev == --textfile ]]; then
			_filedir
			return
		fi
		COMPREPLY=($(compgen -W "--textfile --help" -- "$cur"))
		;;
	tail)
		case $prev in
		-s | --session)
			COMPREPLY=($(compgen -W "$(_scopelock_ids session "$sock")" -- "$cur"))
			return
			;;
		-n | --lines) return ;;
		esac
		COMPREPLY=($(compgen -W "--follow --session --alerts --lines --json --help" -- "$cur"))
		;;
	verify)
		case $prev in
		--checkpoints | --verification-key-file)
			_filedir
			return
			;;
		--verification-key) return ;;
		esac
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--json --quiet --allow-gaps --checkpoints --verification-key --verification-key-file --help" -- "$cur"))
		else
			_filedir
		fi
		;;
	policy)
		if [[ ${words[cword - 1]} == policy ]]; then
			COMPREPLY=($(compgen -W "check reload --help" -- "$cur"))
		elif [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--no-secrets --verbose --help" -- "$cur"))
		else
			_filedir '@(yaml|yml)'
		fi
		;;
	approve | deny)
		[[ $prev == -r || $prev == --reason ]] && return
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--reason --help" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$(_scopelock_ids hold_id "$sock")" -- "$cur"))
		fi
		;;
	end)
		[[ $prev == -r || $prev == --reason ]] && return
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--reason --help" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$(_scopelock_ids session "$sock")" -- "$cur"))
		fi
		;;
	checkpoint-setup)
		if [[ $prev == --key ]]; then
			_filedir
			return
		fi
		COMPREPLY=($(compgen -W "--key --force --help" -- "$cur"))
		;;
	esac
} &&
	complete -F _scopelock scopelock
