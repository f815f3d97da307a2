#!/usr/bin/python3
"""PyTorch side of the per-model default learning rates (docs/BENCHMARKS.md, "Default learning
rates"): train MODEL on a built variant folder (VARIANT/{train,valid,test}/<class>/*) with one
optimizer setting, every epoch scored on valid (sklearn macro-F1 over the whole split), and
print one JSON line per seed with the per-epoch history.

The architecture is the anchor's (../shared/bench/anchors/torch_train_throughput.py); for
vgg16 the weights are initialised as torchvision's VGG (kaiming_normal fan_out convs,
N(0, 0.01) linears, zero biases), as augment's vgg16 is. Inputs as augment's: resized to
SIZE, x / 127.5 - 1. Warm-up: the rate rises linearly per step from lr/steps to lr over the
first WARMUP epochs (WARMUP 0: none), as augment's --warmup-epochs does.

usage: torch-lr-defaults.py MODEL WIDTH SIZE EPOCHS SEEDS OPTIMIZER LR WARMUP VARIANT_DIR
  OPTIMIZER: adam | sgd (momentum 0.9). Env: BATCH (64), THREADS (1). stderr: one progress line per epoch."""
import sys, os, json, time, torch, torch.nn as nn
from torchvision import datasets, transforms
from sklearn.metrics import f1_score

model_name, width, size, epochs, seeds = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
opt_name, lr, warmup, vdir = sys.argv[6], float(sys.argv[7]), float(sys.argv[8]), sys.argv[9]
batch = int(os.environ.get('BATCH', '64'))
torch.set_num_threads(int(os.environ.get('THREADS', '1')))
torch.set_flush_denormal(True)
anchor = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'shared', 'bench', 'anchors', 'torch_train_throughput.py')
if not os.path.exists(anchor):
    anchor = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'shared', 'bench', 'anchors', 'torch_train_throughput.py')

def build(num_classes):
    src = open(anchor).read().split('opt = torch.optim')[0]
    argv = sys.argv
    sys.argv = ['x', model_name, str(size), '--width', str(width), '--classes', str(num_classes)]
    g = {}
    exec(compile(src, anchor, 'exec'), g)
    sys.argv = argv
    m = g['model']
    if model_name == 'vgg16':
        for mod in m.modules():
            if isinstance(mod, nn.Conv2d):
                nn.init.kaiming_normal_(mod.weight, mode='fan_out', nonlinearity='relu'); nn.init.zeros_(mod.bias)
            elif isinstance(mod, nn.Linear):
                nn.init.normal_(mod.weight, 0, 0.01); nn.init.zeros_(mod.bias)
    return m

tf = transforms.Compose([transforms.Resize((size, size)), transforms.ToTensor(), transforms.Normalize((0.5,) * 3, (0.5,) * 3)])
def dataset(split):
    return datasets.ImageFolder(os.path.join(vdir, split), transform=tf, loader=lambda p: datasets.folder.default_loader(p).convert('RGB'))
def tensors(ds):
    xs, ys = zip(*[ds[i] for i in range(len(ds))])
    return torch.stack(xs), torch.tensor(ys)
xtr, ytr = tensors(dataset('train'))
xva, yva = tensors(dataset('valid'))
k = int(ytr.max()) + 1

def macro_f1(m, x, y):
    m.eval()
    with torch.no_grad():
        p = torch.cat([m(x[i:i + 256]).argmax(1) for i in range(0, len(x), 256)])
    return f1_score(y.tolist(), p.tolist(), average='macro', zero_division=0)

for seed in range(1, seeds + 1):
    torch.manual_seed(seed)
    m = build(k)
    opt = torch.optim.Adam(m.parameters(), lr=lr) if opt_name == 'adam' else torch.optim.SGD(m.parameters(), lr=lr, momentum=0.9)
    lf = nn.CrossEntropyLoss()
    steps_per_epoch = (len(xtr) + batch - 1) // batch
    warm_steps = warmup * steps_per_epoch
    step, hist, losses, t0 = 0, [], [], time.time()
    g = torch.Generator(); g.manual_seed(seed)
    for ep in range(epochs):
        m.train()
        order = torch.randperm(len(xtr), generator=g)
        loss_sum = 0.0
        for i in range(0, len(xtr), batch):
            step += 1
            for pg in opt.param_groups:
                pg['lr'] = lr * min(1.0, step / warm_steps) if warm_steps > 0 else lr
            idx = order[i:i + batch]
            opt.zero_grad(); loss = lf(m(xtr[idx]), ytr[idx]); loss.backward(); opt.step()
            loss_sum += loss.item() * len(idx)
        losses.append(round(loss_sum / len(xtr), 4))
        hist.append(round(macro_f1(m, xva, yva), 4))
        print(f'torch {opt_name} {lr} warm-up {warmup} seed {seed} epoch {ep + 1}: valid macro-F1 {hist[-1]:.4f}, train loss {losses[-1]:.4f}, {time.time() - t0:.0f} s', file=sys.stderr, flush=True)
    print(json.dumps({'engine': 'torch', 'model': model_name, 'width': width, 'optimizer': opt_name, 'lr': lr, 'warmup': warmup,
                      'seed': seed, 'valid_macro_f1': hist, 'train_loss': losses, 'seconds': round(time.time() - t0, 1),
                      'valid_counts': torch.bincount(yva, minlength=k).tolist()}), flush=True)
