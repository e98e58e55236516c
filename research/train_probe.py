"""Training probe: short unsupervised runs with variants, printing how the pitch estimate evolves.

Diagnostic for the training issue (not a benchmark with committed results). Trains the
sot-2048 configuration with overrides on 1300 clips of the paper's distribution and scores
200 held-out clips every 100 steps: RPA, share of octave-down errors, percentiles of
predicted/true f0, mean fundamental amplitude and mean amplitude.

    python research/train_probe.py '{"loss": {"lin_weight": 0.0}, "encoder": {"n_harmonics": 8},
                                  "bias": -2, "hinge": 1.0, "match_rms": 1, "lr": 3e-4, "steps": 600}'

bias: initial amplitude-head bias; hinge: weight of relu(0.4·max_k a_k − a_1) (a prior for a
strong fundamental); match_rms: scale each predicted clip to the target's RMS before the loss.
"""
import torch, numpy as np, dataclasses, sys, json, time
torch.set_num_threads(1)
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent.parent))
from sotdemo.config import load_config
from sotdemo.train import prepare
from sotdemo.model import HarmonicModel
from sotdemo.losses import SpectralLoss
args = json.loads(sys.argv[1])
cfg = load_config("sot-2048")
cfg = dataclasses.replace(cfg, loss=dataclasses.replace(cfg.loss, **args.get("loss", {})), encoder=dataclasses.replace(cfg.encoder, **args.get("encoder", {})))
p = prepare(dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, n_clips=1500)), splits=("train",))
tr = p["train"]; X = tr.middle; A = torch.from_numpy(tr.data.audio); F = tr.data.f0_hz
ntr = len(X) - 200
torch.manual_seed(args.get("seed", 0)); m = HarmonicModel(cfg); L = SpectralLoss(cfg.loss)
if "bias" in args:
    with torch.no_grad(): m.encoder.amplitude_head.bias.fill_(args["bias"])
opt = torch.optim.Adam(m.parameters(), args.get("lr", 3e-4), weight_decay=1e-4)
rng = np.random.default_rng(0); t0=time.time()
for step in range(1, args.get("steps", 600)+1):
    idx = torch.from_numpy(rng.choice(ntr, 64, replace=False))
    out = m(X[idx]); pred = m.synthesize(out.f0_hz, out.amplitudes, 4096)
    if args.get("match_rms"):
        pred = pred * (A[idx].pow(2).mean(-1, keepdim=True).sqrt() / pred.pow(2).mean(-1, keepdim=True).sqrt().clamp_min(1e-8))
    loss = L(A[idx], pred)
    if args.get("hinge"):
        amps = out.amplitudes
        loss = loss + args["hinge"] * torch.relu(0.4 * amps.max(-1).values.detach() - amps[:, 0]).mean()
    opt.zero_grad(); loss.backward(); opt.step()
    if step % 100 == 0:
        m.eval()
        with torch.no_grad(): o = m(X[ntr:])
        m.train()
        r = o.f0_hz.numpy() / F[ntr:]; c = 1200*np.log2(r)
        print(step, round(loss.item(),5), "RPA", np.mean(np.abs(c)<50).round(3), "oct-", np.mean(np.abs(c+1200)<50).round(3), "ratio pct", np.percentile(r,[10,50,90]).round(2), "a1", round(o.amplitudes[:,0].mean().item(),3), "amean", round(o.amplitudes.mean().item(),3), round(time.time()-t0), flush=True)
