"""A signal model of my own: the L_mu-L_tau Z' with a light-dark-matter channel open.

Production mu N -> mu N Z' is the shipped vector model's (the WW cross-section of
na64tools.physics); the invisible fraction adds Z' -> chi chi-bar to Z' -> nu nu-bar, with
m_chi = m_Z'/3 and alpha_D = 0.1 (assumptions: the light-dark-matter benchmark of
Izaguirre, Krnjaic, Schuster, Toro, PRL 115 (2015) 251301, arXiv:1505.00011).

Use it with ``--model-file lmutau_dark.py --model lmutau_dark`` on the command line, or
``na64tools.models.load_model_file("lmutau_dark.py")`` in Python.
"""

from na64tools.models import Model, register_model
from na64tools.physics import br_invisible, get_sampler

#: m_chi / m_Z' (assumption: the benchmark ratio 1/3)
M_CHI_RATIO = 1.0 / 3.0
#: the dark coupling alpha_D = g_chi^2 / 4 pi (assumption: the benchmark value)
ALPHA_D = 0.1


def make_sampler(mass, energy, material, x_min):
    """The vector model's (x, theta) sampler: sigma [pb] at coupling 1, sigma_at, sample."""
    return get_sampler(mass, model="vector", energy=energy, target=material, x_min=x_min)


def invisible_fraction(mass, coupling):
    """BR(Z' -> nu nu-bar or chi chi-bar) with m_chi = m/3 and alpha_D = 0.1."""
    return float(br_invisible(mass, coupling, "vector", m_chi=M_CHI_RATIO * mass, alpha_D=ALPHA_D))


register_model(Model(
    name="lmutau_dark",
    label="L_mu - L_tau Z' with Z' -> chi chi-bar",
    coupling="g_Z'",
    coupling_label=r"g_{Z^\prime}",
    coupling_unit="",
    pdgid=32,
    reference="Bjorken, Essig, Schuster, Toro, PRD 80 (2009) 075018 (arXiv:0906.0580); "
              "Kirpichnikov et al., PRD 104 (2021) 076012 (arXiv:2107.13297)",
    description="An L_mu - L_tau Z' that also decays to light dark matter (m_chi = m/3, alpha_D = 0.1).",
    make_sampler=make_sampler,
    br_invisible=invisible_fraction,
    mass_symbol=r"Z^\prime",
    g2="vector",  # draw the (g-2)_mu band and bound of the Z' on the exclusion plot
))
