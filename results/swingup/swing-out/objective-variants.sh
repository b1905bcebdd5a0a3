#!/bin/sh
# Objective variants on swing.out (issue 11: looking for the reference's faster swing-up).
# Run from the repository root, one at a time; appends one JSON line per variant.
# Made with: sh results/swingup/swing-out/objective-variants.sh
set -e
V="python experiments/tune_variants.py ../shared/reference/wann/swing.out"
OUT=results/swingup/swing-out/objective-variants.jsonl
: > "$OUT"
$V --name "start -1.0, 600 gens, weight decay 5" --start=-1.0 --loop '{"generations": 600, "n_validation": 256}' --opts '{"weight_decay": 5.0, "sigma": 0.3}' >> "$OUT"
$V --name "start -1.5, 600 gens, weight decay 5" --start=-1.5 --loop '{"generations": 600, "n_validation": 256}' --opts '{"weight_decay": 5.0, "sigma": 0.3}' >> "$OUT"
$V --name "start -1.5, 600 gens, weight decay 20" --start=-1.5 --loop '{"generations": 600, "n_validation": 256}' --opts '{"weight_decay": 20.0, "sigma": 0.3}' >> "$OUT"
$V --name "150-step episodes only, start -1.0" --start=-1.0 --horizon 150 --loop '{"generations": 300, "n_validation": 256}' >> "$OUT"
$V --name "150-step episodes only, start -1.5, weight decay 1" --start=-1.5 --horizon 150 --loop '{"generations": 300, "n_validation": 256}' --opts '{"weight_decay": 1.0, "sigma": 0.6}' >> "$OUT"
$V --name "curriculum 150, 300, 600, 1000 steps (300 gens each), start -1.5, weight decay 2" --start=-1.5 --horizon 150,300,600,1000 --loop '{"generations": 300, "n_validation": 256}' --opts '{"weight_decay": 2.0, "sigma": 0.3}' >> "$OUT"
$V --name "return + 3 x first 150 steps, start -1.0, weight decay 5" --start=-1.0 --early 3 --loop '{"generations": 600, "n_validation": 256}' --opts '{"weight_decay": 5.0, "sigma": 0.3}' >> "$OUT"
$V --name "return + 8 x first 150 steps, start -1.5, weight decay 5" --start=-1.5 --early 8 --loop '{"generations": 600, "n_validation": 256}' --opts '{"weight_decay": 5.0, "sigma": 0.3}' >> "$OUT"
# the same on our own seed-0 champion (69 connections; its best shared weight scores 670)
S="python experiments/tune_variants.py results/swingup/seed-0/champion.json"
$S --name "s0 wd5 sigma0.3 600" --opts '{"weight_decay": 5.0, "sigma": 0.3}' --loop '{"generations": 600, "n_validation": 256}' >> "$OUT"
$S --name "s0 wd5 auto 1200" --opts '{"weight_decay": 5.0}' --loop '{"generations": 1200, "n_validation": 256}' >> "$OUT"
$S --name "s0 curriculum" --horizon 150,300,600,1000 --opts '{"weight_decay": 2.0, "sigma": 0.3}' --loop '{"generations": 300, "n_validation": 256}' >> "$OUT"
$S --name "s0 default" >> "$OUT"
# other methods and IPOP restarts on the seed-0 champion, and IPOP on the seed-3 one
$S --name "s0 cma ipop 2 restarts" --loop '{"restarts": 2, "generations": 600}' >> "$OUT"
$S --name "s0 cma sigma 1.0" --opts '{"sigma": 1.0}' >> "$OUT"
$S --name "s0 pepg 1200" --method pepg --loop '{"generations": 1200, "n_validation": 256}' >> "$OUT"
$S --name "s0 sm-g-sum 1200" --method sm-g-sum --loop '{"generations": 1200, "n_validation": 256}' >> "$OUT"
$S --name "s0 cma ipop 2 restarts, seed 1" --seed 1 --loop '{"restarts": 2, "generations": 600}' >> "$OUT"
python experiments/tune_variants.py results/swingup/seed-3/champion.json --name "s3 cma ipop 2 restarts" --loop '{"restarts": 2, "generations": 600}' >> "$OUT"
# the reference's PEPG settings with 16 episodes a sample instead of 4 (less noise), on swing.out
$V --name "PEPG reference settings from -1.5, 16 episodes a sample, 2000 gens" --method pepg --preset reference --start=-1.5 --loop '{"generations": 2000, "n_repeats": 16, "n_validation": 256, "validate_every": 20}' >> "$OUT"
# a fast swing-up first: random starts tuned on 150-step episodes, the best one tuned on full episodes
$V --name "40 random starts (spread 1.6 around -1.5) tuned on 150-step episodes, the best tuned on full ones (600 gens, sigma 0.2, weight decay 1), seed 0" --seed 0 --start=-1.5 --explore 40 --loop '{"generations": 600, "n_validation": 256}' --opts '{"sigma": 0.2, "weight_decay": 1.0}' >> "$OUT"
$V --name "40 random starts (spread 1.6 around -1.5) tuned on 150-step episodes, the best tuned on full ones (600 gens, sigma 0.2, weight decay 1), seed 1" --seed 1 --start=-1.5 --explore 40 --loop '{"generations": 600, "n_validation": 256}' --opts '{"sigma": 0.2, "weight_decay": 1.0}' >> "$OUT"
$V --name "40 random starts (spread 1.6 around -1.5) tuned on 150-step episodes, the best tuned on full ones (600 gens, sigma 0.2, weight decay 1), seed 2" --seed 2 --start=-1.5 --explore 40 --loop '{"generations": 600, "n_validation": 256}' --opts '{"sigma": 0.2, "weight_decay": 1.0}' >> "$OUT"
$V --name "40 random starts (spread 1.6 around -1.5) tuned on 150-step episodes, the best tuned on full ones (600 gens, sigma 0.2, weight decay 1), seed 3" --seed 3 --start=-1.5 --explore 40 --loop '{"generations": 600, "n_validation": 256}' --opts '{"sigma": 0.2, "weight_decay": 1.0}' >> "$OUT"
# the seed-0 champion's balance weighted twice: return - 0.5 x the return of the first 500 steps
python experiments/tune_variants.py results/swingup/seed-0/champion.json --name "seed-0 champion, the default, return - 0.5 x first 500 steps (the balance weighted twice)" --early=-0.5 --early-steps 500 >> "$OUT"
