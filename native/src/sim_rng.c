/* Random streams (xoshiro256**, seeded through splitmix64 from a hash of seed, book, agent and
 * purpose so that a book's draws never depend on other books or on thread scheduling), the
 * distributions the agents use, and the message priority queue. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

static uint64_t splitmix64(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

void sim_rng_seed(sim_rng *rng, uint64_t seed, uint64_t book, uint64_t agent, uint64_t purpose) {
  uint64_t state = seed;
  uint64_t mix = splitmix64(&state);
  state = mix ^ (book * 0xD1B54A32D192ED03ull);
  mix = splitmix64(&state);
  state = mix ^ (agent * 0x8CB92BA72F3D8DD7ull);
  mix = splitmix64(&state);
  state = mix ^ (purpose * 0xABC98388FB8FAC03ull);
  for (int i = 0; i < 4; i++) rng->s[i] = splitmix64(&state);
}

double sim_uniform_range(sim_rng *rng, double lo, double hi) {
  return lo + (hi - lo) * sim_uniform(rng);
}

/* ---- standard normal: 256-layer ziggurat (Marsaglia and Tsang) ----
 * Fixed constants rather than tables computed at start-up, so that the common draw does not
 * depend on the host's libm; sim_rng_test recomputes them from the recurrence. */
const double sim_ziggurat_x[SIM_ZIGGURAT_LAYERS + 1] = {
    0x1.f493b7816449cp+1, 0x1.d3bb48209ad33p+1, 0x1.b981f3878f995p+1, 0x1.a8fdc7894718cp+1,
    0x1.9cbee014050dfp+1, 0x1.92ee0946f3d1ap+1, 0x1.8ab0fbfaa7412p+1, 0x1.839030529e9c6p+1,
    0x1.7d42df4d6c5c3p+1, 0x1.779955608fd5cp+1, 0x1.72728f05f70d7p+1, 0x1.6db6b8d09d896p+1,
    0x1.69540be9fdbedp+1, 0x1.653ce7b0060ep+1, 0x1.61669cf86141p+1, 0x1.5dc8a243ac693p+1,
    0x1.5a5c08b718342p+1, 0x1.571b1a94ad95ap+1, 0x1.54011523a7359p+1, 0x1.5109f53e9a131p+1,
    0x1.4e3250dcd7dccp+1, 0x1.4b7739d6b4ecdp+1, 0x1.48d62759c383ep+1, 0x1.464ce44a72e74p+1,
    0x1.43d98155452d1p+1, 0x1.417a49cb9d9f7p+1, 0x1.3f2dbaa60e871p+1, 0x1.3cf27b316f883p+1,
    0x1.3ac7570ae7cb8p+1, 0x1.38ab3925634aap+1, 0x1.369d27a339bc2p+1, 0x1.349c405ae0607p+1,
    0x1.32a7b5e6897eap+1, 0x1.30becd256a218p+1, 0x1.2ee0db1a96c03p+1, 0x1.2d0d43196ce89p+1,
    0x1.2b4375329fd28p+1, 0x1.2982ecd770132p+1, 0x1.27cb2faa84bccp+1, 0x1.261bcc7764b64p+1,
    0x1.24745a4ac8e8dp+1, 0x1.22d477a6fc63dp+1, 0x1.213bc9d04beb5p+1, 0x1.1fa9fc2e2cb1ap+1,
    0x1.1e1ebfbe4a038p+1, 0x1.1c99ca9719879p+1, 0x1.1b1ad777f215ap+1, 0x1.19a1a564edd5dp+1,
    0x1.182df74d203f9p+1, 0x1.16bf93b9de071p+1, 0x1.1556448601fap+1, 0x1.13f1d69c3fab8p+1,
    0x1.129219bbb4e67p+1, 0x1.1136e04206159p+1, 0x1.0fdffefa690b4p+1, 0x1.0e8d4cf115677p+1,
    0x1.0d3ea34aa2dfbp+1, 0x1.0bf3dd1eec4f9p+1, 0x1.0aacd7571b15cp+1, 0x1.0969708e892d2p+1,
    0x1.082988f631e7bp+1, 0x1.06ed023a716b3p+1, 0x1.05b3bf6ada3afp+1, 0x1.047da4e3ee5dep+1,
    0x1.034a983a8f2a9p+1, 0x1.021a8028fb92bp+1, 0x1.00ed447d3903fp+1, 0x1.ff859c118d56cp+0,
    0x1.fd360d22fc6b3p+0, 0x1.faebb187101b9p+0, 0x1.f8a6604897648p+0, 0x1.f665f20c8dffap+0,
    0x1.f42a40fb72bccp+0, 0x1.f1f328ac2314bp+0, 0x1.efc086101ca9fp+0, 0x1.ed923761084fbp+0,
    0x1.eb681c0f74c95p+0, 0x1.e94214b2a9c61p+0, 0x1.e72002f97db46p+0, 0x1.e501c99c1ae74p+0,
    0x1.e2e74c4ea23acp+0, 0x1.e0d06fb49ae9cp+0, 0x1.debd195520a81p+0, 0x1.dcad2f8fc2523p+0,
    0x1.daa0999204a4fp+0, 0x1.d8973f4d7d74ep+0, 0x1.d691096e7cc96p+0, 0x1.d48de1533a183p+0,
    0x1.d28db1037ca25p+0, 0x1.d0906328b6a3bp+0, 0x1.ce95e3068baccp+0, 0x1.cc9e1c73bb0ecp+0,
    0x1.caa8fbd367ccfp+0, 0x1.c8b66e0eb8002p+0, 0x1.c6c6608ec60b7p+0, 0x1.c4d8c136de695p+0,
    0x1.c2ed7e5f0536bp+0, 0x1.c10486cebefa3p+0, 0x1.bf1dc9b81874bp+0, 0x1.bd3936b2e993p+0,
    0x1.bb56bdb84fdcp+0, 0x1.b9764f1e5cf53p+0, 0x1.b797db93f6102p+0, 0x1.b5bb541ce14a1p+0,
    0x1.b3e0aa0dfe361p+0, 0x1.b207cf09a6f7ep+0, 0x1.b030b4fc377ffp+0, 0x1.ae5b4e18b89ddp+0,
    0x1.ac878cd5acc36p+0, 0x1.aab563e9fc731p+0, 0x1.a8e4c64a00726p+0, 0x1.a715a724a7f4dp+0,
    0x1.a547f9e0b90fp+0, 0x1.a37bb21a29d82p+0, 0x1.a1b0c39f90b77p+0, 0x1.9fe7226faa6ecp+0,
    0x1.9e1ec2b6f486fp+0, 0x1.9c5798cd5ad45p+0, 0x1.9a919933f6d93p+0, 0x1.98ccb892dfdcp+0,
    0x1.9708ebb70a937p+0, 0x1.954627903758dp+0, 0x1.9384612eeddb8p+0, 0x1.91c38dc2855bbp+0,
    0x1.9003a297387bbp+0, 0x1.8e44951443c09p+0, 0x1.8c865aba0de34p+0, 0x1.8ac8e92059191p+0,
    0x1.890c35f47c82fp+0, 0x1.875036f7a4f7bp+0, 0x1.8594e1fd1c625p+0, 0x1.83da2ce896f2fp+0,
    0x1.82200dac85642p+0, 0x1.80667a486b99bp+0, 0x1.7ead68c73ae13p+0, 0x1.7cf4cf3daf1d6p+0,
    0x1.7b3ca3c8ae292p+0, 0x1.7984dc8ba8bc9p+0, 0x1.77cd6faefc22bp+0, 0x1.7616535e540acp+0,
    0x1.745f7dc70bc12p+0, 0x1.72a8e5168e1a6p+0, 0x1.70f27f78b3573p+0, 0x1.6f3c43161c483p+0,
    0x1.6d86261289f27p+0, 0x1.6bd01e8b30f34p+0, 0x1.6a1a229507dcep+0, 0x1.6864283b0fbf5p+0,
    0x1.66ae257c960d1p+0, 0x1.64f8104b6f00ap+0, 0x1.6341de8a27a3fp+0, 0x1.618b860a2e8fdp+0,
    0x1.5fd4fc89f270dp+0, 0x1.5e1e37b2f5543p+0, 0x1.5c672d17d3b46p+0, 0x1.5aafd2323e2f8p+0,
    0x1.58f81c60e4c49p+0, 0x1.574000e552641p+0, 0x1.558774e1b7923p+0, 0x1.53ce6d56a2c3cp+0,
    0x1.5214df20a50d7p+0, 0x1.505abef5e1a6bp+0, 0x1.4ea0016386a9ap+0, 0x1.4ce49acb2d5fbp+0,
    0x1.4b287f6020504p+0, 0x1.496ba3248525cp+0, 0x1.47adf9e6685e7p+0, 0x1.45ef773ca899p+0,
    0x1.44300e83bf257p+0, 0x1.426fb2da6358ep+0, 0x1.40ae571e05f2p+0, 0x1.3eebede721aa8p+0,
    0x1.3d2869855dd7dp+0, 0x1.3b63bbfb7fc13p+0, 0x1.399dd6fb270e6p+0, 0x1.37d6abe05165ap+0,
    0x1.360e2baca1031p+0, 0x1.3444470261b66p+0, 0x1.3278ee1f4755cp+0, 0x1.30ac10d6e0466p+0,
    0x1.2edd9e8cb647cp+0, 0x1.2d0d862e1729ep+0, 0x1.2b3bb62b7e87dp+0, 0x1.29681c7199014p+0,
    0x1.2792a661d8bcap+0, 0x1.25bb40ca92395p+0, 0x1.23e1d7de97a03p+0, 0x1.2206572c47d13p+0,
    0x1.2028a9940560cp+0, 0x1.1e48b93e088d8p+0, 0x1.1c666f8f7deafp+0, 0x1.1a81b51ee209fp+0,
    0x1.189a71a788c7ap+0, 0x1.16b08bfc3d18ep+0, 0x1.14c3e9f8e41d5p+0, 0x1.12d470730bf72p+0,
    0x1.10e203294c4bap+0, 0x1.0eec84b15b64bp+0, 0x1.0cf3d664b796bp+0, 0x1.0af7d84bc0d04p+0,
    0x1.08f8690719efbp+0, 0x1.06f565b7249f7p+0, 0x1.04eea9e164ed2p+0, 0x1.02e40f5393757p+0,
    0x1.00d56e041db86p+0, 0x1.fd8537df9798bp-1, 0x1.f956d9e872025p-1, 0x1.f51f654d83c82p-1,
    0x1.f0de784efa58ep-1, 0x1.ec93abdf8c38ep-1, 0x1.e83e93379adp-1, 0x1.e3debb5d22925p-1,
    0x1.df73aa9f0ae86p-1, 0x1.dafce0022ede7p-1, 0x1.d679d29e35105p-1, 0x1.d1e9f0e7fe5eep-1,
    0x1.cd4c9fe7151c2p-1, 0x1.c8a13a5316303p-1, 0x1.c3e70f95872d9p-1, 0x1.bf1d62abea234p-1,
    0x1.ba4368e51bb28p-1, 0x1.b5584874191d3p-1, 0x1.b05b16d127fcep-1, 0x1.ab4ad6e0f24b3p-1,
    0x1.a62676d76d6eep-1, 0x1.a0eccdca3ab9p-1, 0x1.9b9c98e37c433p-1, 0x1.96347822b180fp-1,
    0x1.90b2ea94dc29fp-1, 0x1.8b1649e7a6323p-1, 0x1.855cc5341f01ap-1, 0x1.7f845ad45d38dp-1,
    0x1.798ad10b200e6p-1, 0x1.736dad345c6abp-1, 0x1.6d2a291feca67p-1, 0x1.66bd261a23772p-1,
    0x1.60231cfd82f8ep-1, 0x1.59580a70673bcp-1, 0x1.5257562196c0fp-1, 0x1.4b1bb363c897fp-1,
    0x1.439ef8dfe16fcp-1, 0x1.3bd9ec1a11bf7p-1, 0x1.33c3fc055e9dep-1, 0x1.2b52e38621b2p-1,
    0x1.227a28f78455bp-1, 0x1.192a6973f44f9p-1, 0x1.0f5053b004b3ep-1, 0x1.04d32278c831cp-1,
    0x1.f32482d480781p-2, 0x1.dac2f5a6f30f7p-2, 0x1.c004d2f328d65p-2, 0x1.a230c2e46386bp-2,
    0x1.801fce827fa88p-2, 0x1.57cb9383ae505p-2, 0x1.250af3c200a08p-2, 0x1.b8d0be3d697eap-3,
    0x0p+0,
};
const double sim_ziggurat_f[SIM_ZIGGURAT_LAYERS + 1] = {
    0x1.f4a946f0d1deap-12, 0x1.4a605b6b9f70dp-10, 0x1.55f9f43c1d642p-9, 0x1.08a1f03b0d9d6p-8,
    0x1.69ea8d90cf659p-8, 0x1.ce160f8ecbd46p-8, 0x1.1a59229956608p-7, 0x1.4eb96421b129fp-7,
    0x1.841040d8df3c7p-7, 0x1.ba48d274febd6p-7, 0x1.f152a4f734692p-7, 0x1.1490334606b66p-6,
    0x1.30d388daba03p-6, 0x1.4d6eaf2fbf963p-6, 0x1.6a5daf40c0f83p-6, 0x1.879d1b6011823p-6,
    0x1.a529f4e234a4p-6, 0x1.c301983cd6ea9p-6, 0x1.e121adb82f964p-6, 0x1.ff881d7191a2bp-6,
    0x1.0f1982e96be0dp-5, 0x1.1e9059f1fac8ep-5, 0x1.2e27ce83e3a4bp-5, 0x1.3ddf2ce993866p-5,
    0x1.4db5d0e1174fp-5, 0x1.5dab23cf2ff63p-5, 0x1.6dbe9b39925fdp-5, 0x1.7defb77af80cap-5,
    0x1.8e3e02a691373p-5, 0x1.9ea90f929b752p-5, 0x1.af3079038c591p-5, 0x1.bfd3e0f289489p-5,
    0x1.d092efeae6004p-5, 0x1.e16d547b2c474p-5, 0x1.f262c2b6ce57bp-5, 0x1.01b979e31226ap-4,
    0x1.0a4ed2c15d62bp-4, 0x1.12f14d0f259e1p-4, 0x1.1ba0cbe97ce01p-4, 0x1.245d344dd5456p-4,
    0x1.2d266cf9b7a1cp-4, 0x1.35fc5e4d989c5p-4, 0x1.3edef2326e82ep-4, 0x1.47ce1401b7216p-4,
    0x1.50c9b06fa7e0ap-4, 0x1.59d1b5774bb5cp-4, 0x1.62e612485a434p-4, 0x1.6c06b7369a3d2p-4,
    0x1.753395aaa6d68p-4, 0x1.7e6ca013f4e39p-4, 0x1.87b1c9dbf892ap-4, 0x1.9103075a503ffp-4,
    0x1.9a604dc9dc0ecp-4, 0x1.a3c9933eacae1p-4, 0x1.ad3ece9cb6118p-4, 0x1.b6bff78f34fa7p-4,
    0x1.c04d0680b801dp-4, 0x1.c9e5f493be6bp-4, 0x1.d38abb9be0725p-4, 0x1.dd3b561776076p-4,
    0x1.e6f7bf29b1fd8p-4, 0x1.f0bff29528b53p-4, 0x1.fa93ecb6ba219p-4, 0x1.0239d5406be7bp-3,
    0x1.072f94bb90233p-3, 0x1.0c2b33d524dc8p-3, 0x1.112cb1da2b429p-3, 0x1.16340e5a87438p-3,
    0x1.1b4149275c57ep-3, 0x1.20546251885dbp-3, 0x1.256d5a283a9c9p-3, 0x1.2a8c3137a539cp-3,
    0x1.2fb0e847c7857p-3, 0x1.34db805b4faefp-3, 0x1.3a0bfaae928cbp-3, 0x1.3f4258b698405p-3,
    0x1.447e9c203c9a8p-3, 0x1.49c0c6cf6238p-3, 0x1.4f08dade37697p-3, 0x1.5456da9c8c09p-3,
    0x1.59aac88f3775p-3, 0x1.5f04a76f8df65p-3, 0x1.64647a2ae4e94p-3, 0x1.69ca43e2250e1p-3,
    0x1.6f3607e96a72ap-3, 0x1.74a7c9c7b174dp-3, 0x1.7a1f8d369065fp-3, 0x1.7f9d5621fd64ap-3,
    0x1.852128a8200abp-3, 0x1.8aab09192e96dp-3, 0x1.903afbf75641ep-3, 0x1.95d105f6ae782p-3,
    0x1.9b6d2bfd36b5dp-3, 0x1.a10f7322decebp-3, 0x1.a6b7e0b1996dap-3, 0x1.ac667a2578a15p-3,
    0x1.b21b452cd44ffp-3, 0x1.b7d647a87a727p-3, 0x1.bd9787abe8fd9p-3, 0x1.c35f0b7d9163cp-3,
    0x1.c92cd99725a0ap-3, 0x1.cf00f8a5eec46p-3, 0x1.d4db6f8b2cf9p-3, 0x1.dabc455c81016p-3,
    0x1.e0a381645f35fp-3, 0x1.e6912b228c089p-3, 0x1.ec854a4ca21c4p-3, 0x1.f27fe6cea202bp-3,
    0x1.f88108cb8bb6bp-3, 0x1.fe88b89e01ed8p-3, 0x1.024b7f6c7baf9p-2, 0x1.0555f22433148p-2,
    0x1.0863b8f908b9ap-2, 0x1.0b74d88b28c34p-2, 0x1.0e89559875417p-2, 0x1.11a134fcf6f72p-2,
    0x1.14bc7bb353ab5p-2, 0x1.17db2ed54a236p-2, 0x1.1afd539c33e9ep-2, 0x1.1e22ef618d068p-2,
    0x1.214c079f81cf6p-2, 0x1.2478a1f182fe7p-2, 0x1.27a8c414e0385p-2, 0x1.2adc73e96935p-2,
    0x1.2e13b77215be7p-2, 0x1.314e94d5b4bcp-2, 0x1.348d125fa2841p-2, 0x1.37cf368086b2fp-2,
    0x1.3b1507cf19c7bp-2, 0x1.3e5e8d08f2ccp-2, 0x1.41abcd135d51bp-2, 0x1.44fccefc3811cp-2,
    0x1.485199fadc814p-2, 0x1.4baa35710fb04p-2, 0x1.4f06a8ebfcd18p-2, 0x1.5266fc2539c98p-2,
    0x1.55cb3703d62d5p-2, 0x1.5933619d751cp-2, 0x1.5c9f843772674p-2, 0x1.600fa7481382bp-2,
    0x1.6383d377c4bacp-2, 0x1.66fc11a2633bp-2, 0x1.6a786ad894729p-2, 0x1.6df8e8612b6eep-2,
    0x1.717d93ba9cccfp-2, 0x1.7506769c81eb2p-2, 0x1.78939af92c0f6p-2, 0x1.7c250aff48404p-2,
    0x1.7fbad11b949b1p-2, 0x1.8354f7faa7fc9p-2, 0x1.86f38a8accdf9p-2, 0x1.8a9693fdf0621p-2,
    0x1.8e3e1fcba6708p-2, 0x1.91ea39b344265p-2, 0x1.959aedbe11841p-2, 0x1.9950484193ad9p-2,
    0x1.9d0a55e1f0f59p-2, 0x1.a0c9239470123p-2, 0x1.a48cbea213ea2p-2, 0x1.a85534aa55846p-2,
    0x1.ac2293a5fdbdap-2, 0x1.aff4e9ea2080ap-2, 0x1.b3cc462b3b601p-2, 0x1.b7a8b780798d6p-2,
    0x1.bb8a4d671f4d2p-2, 0x1.bf7117c61f2e3p-2, 0x1.c35d26f1db714p-2, 0x1.c74e8bb0163b8p-2,
    0x1.cb45573c135d1p-2, 0x1.cf419b4aeea95p-2, 0x1.d3436a102a14bp-2, 0x1.d74ad642770a5p-2,
    0x1.db57f320beadp-2, 0x1.df6ad4776cfdbp-2, 0x1.e3838ea60330fp-2, 0x1.e7a236a4f5d0ep-2,
    0x1.ebc6e20bdba61p-2, 0x1.eff1a717f2c6ap-2, 0x1.f4229cb301998p-2, 0x1.f859da7a9a145p-2,
    0x1.fc9778c7c5ff9p-2, 0x1.006dc85b91ce2p-1, 0x1.02931e18bd53dp-1, 0x1.04bbcafa69338p-1,
    0x1.06e7dccf0913bp-1, 0x1.091761d99b386p-1, 0x1.0b4a68d7130b6p-1, 0x1.0d81010419aafp-1,
    0x1.0fbb3a232b22dp-1, 0x1.11f9248317961p-1, 0x1.143ad105f04d9p-1, 0x1.168051286962fp-1,
    0x1.18c9b709b99c2p-1, 0x1.1b17157402fa5p-1, 0x1.1d687fe54f923p-1, 0x1.1fbe0a992f705p-1,
    0x1.2217ca9305a07p-1, 0x1.2475d5a913ecfp-1, 0x1.26d8429056974p-1, 0x1.293f28e9432ddp-1,
    0x1.2baaa14d7fc59p-1, 0x1.2e1ac55eaa44bp-1, 0x1.308fafd64a2a1p-1, 0x1.33097c970a544p-1,
    0x1.358848bf5bd5ap-1, 0x1.380c32bda6eb1p-1, 0x1.3a955a6633c5bp-1, 0x1.3d23e10afa26ap-1,
    0x1.3fb7e9958cdcbp-1, 0x1.425198a35d3b7p-1, 0x1.44f114a49abe2p-1, 0x1.479685fdfc719p-1,
    0x1.4a42172dccb28p-1, 0x1.4cf3f4f49c922p-1, 0x1.4fac4e8213288p-1, 0x1.526b55a65eacp-1,
    0x1.55313f08e1e08p-1, 0x1.57fe4264d0f35p-1, 0x1.5ad29acc8e02p-1, 0x1.5dae86f4b8502p-1,
    0x1.609249880ae0ep-1, 0x1.637e2985595e3p-1, 0x1.667272a936f22p-1, 0x1.696f75e51c96fp-1,
    0x1.6c7589e63eb2ap-1, 0x1.6f850baeb0ep-1, 0x1.729e5f44002acp-1, 0x1.75c1f07717092p-1,
    0x1.78f033ca14bcep-1, 0x1.7c29a779d062cp-1, 0x1.7f6ed4b21839ap-1, 0x1.82c050f57735bp-1,
    0x1.861ebfc3863dcp-1, 0x1.898ad48bb89ap-1, 0x1.8d0554fe6b8e2p-1, 0x1.908f1bd322359p-1,
    0x1.94291c21c3059p-1, 0x1.97d465762351bp-1, 0x1.9b9228d24c56ap-1, 0x1.9f63bee65e3a1p-1,
    0x1.a34aafdf67813p-1, 0x1.a748bd551988bp-1, 0x1.ab5fef17af9cep-1, 0x1.af92a3f6dc41bp-1,
    0x1.b3e3a8235bfe1p-1, 0x1.b85653a90e048p-1, 0x1.bceeb4ee2d095p-1, 0x1.c1b1cd9efb94fp-1,
    0x1.c6a5eceaa82cp-1, 0x1.cbd33a8a8460bp-1, 0x1.d144978a24292p-1, 0x1.d70920658fa1cp-1,
    0x1.dd36fa7063604p-1, 0x1.e3f11e0296bbep-1, 0x1.eb7545b6e5a3ap-1, 0x1.f446ac97c0275p-1,
    0x1p+0,
};

/* A draw outside the rectangle of its layer (about 1% of them, see sim_standard_normal): from the
 * tail beyond SIM_ZIGGURAT_R in layer 0, else accepted under the density or refused. */
bool sim_ziggurat_edge(sim_rng *rng, unsigned layer, double u, double x, double *out) {
  if (layer == 0) {
    /* Marsaglia's tail method */
    double t, y;
    do {
      t = log(1.0 - sim_uniform(rng)) / SIM_ZIGGURAT_R;
      y = log(1.0 - sim_uniform(rng));
    } while (-2.0 * y < t * t);
    *out = u < 0 ? t - SIM_ZIGGURAT_R : SIM_ZIGGURAT_R - t;
    return true;
  }
  /* Between the rectangle and the curve: a height drawn across the layer, accepted under the
   * density. The layer's lower edge is f[layer], its upper edge f[layer + 1]. */
  double lower = sim_ziggurat_f[layer], upper = sim_ziggurat_f[layer + 1];
  *out = x;
  return upper + (lower - upper) * sim_uniform(rng) < exp(-0.5 * x * x);
}

double sim_lognormal(sim_rng *rng, double mu, double sigma) {
  return exp(sim_normal(rng, mu, sigma));
}

double sim_laplace(sim_rng *rng, double loc, double scale) {
  double u = sim_uniform(rng) - 0.5;
  double sign = u < 0 ? -1.0 : 1.0;
  return loc - scale * sign * log(1.0 - 2.0 * fabs(u));
}

/* Marsaglia and Tsang's squeeze method; a shape below 1 is boosted to shape + 1 and scaled back by
 * U^(1/shape). */
double sim_gamma(sim_rng *rng, double shape, double scale) {
  double boost = 1.0;
  if (shape < 1.0) {
    boost = pow(sim_uniform(rng), 1.0 / shape);
    shape += 1.0;
  }
  double d = shape - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
  for (;;) {
    double x = sim_standard_normal(rng), v = 1.0 + c * x;
    if (v <= 0) continue;
    v = v * v * v;
    double u = sim_uniform(rng);
    if (u < 1.0 - 0.0331 * x * x * x * x || log(u) < 0.5 * x * x + d * (1.0 - v + log(v))) {
      return d * v * scale * boost;
    }
  }
}

uint32_t sim_poisson(sim_rng *rng, double lambda) {
  /* Inversion: lambda is tiny (jump probability per update). */
  double u = sim_uniform(rng);
  double p = exp(-lambda), cumulative = p;
  uint32_t k = 0;
  while (u > cumulative && k < 1000) {
    k++;
    p *= lambda / k;
    cumulative += p;
  }
  return k;
}

double sim_rayleigh_quantile(double s, double u) { return s * sqrt(-2.0 * log(1.0 - u)); }

/* ---- 4-ary heap ordered by (time, seq) ----
 * Four children per node halve the depth of a binary heap, and a node's children lie side by
 * side; the smallest child is chosen without branches (which one wins is a coin toss). */
static inline unsigned __int128 key_of(const sim_msg *m) {
  return ((unsigned __int128)m->time << 64) | m->seq;
}

/* The smallest of the children first.. of a node (at most four, below n), and its key. */
static inline size_t smallest_child(const sim_msg *items, size_t first, size_t n,
                                    unsigned __int128 *key) {
  size_t end = first + 4 < n ? first + 4 : n, best = first;
  unsigned __int128 best_key = key_of(&items[first]);
  for (size_t c = first + 1; c < end; c++) {
    unsigned __int128 k = key_of(&items[c]);
    bool smaller = k < best_key;
    best = smaller ? c : best;
    best_key = smaller ? k : best_key;
  }
  *key = best_key;
  return best;
}

/* Puts msg in the vacant root and sinks it below its smaller children. */
static void sink_from_root(sim_heap *heap, const sim_msg *msg) {
  sim_msg *items = heap->items;
  size_t n = heap->size, hole = 0;
  unsigned __int128 key = key_of(msg);
  for (;;) {
    size_t first = 4 * hole + 1;
    if (first >= n) break;
    unsigned __int128 child_key;
    size_t best = smallest_child(items, first, n, &child_key);
    if (key < child_key) break;
    items[hole] = items[best];
    hole = best;
  }
  items[hole] = *msg;
}

int sim_heap_push(sim_heap *heap, const sim_msg *msg) {
  if (heap->root_vacant) {
    heap->root_vacant = false;
    sink_from_root(heap, msg);
    return TAOS_SIM_OK;
  }
  if (heap->size == heap->cap) {
    size_t cap = heap->cap ? heap->cap * 2 : 1024;
    sim_msg *items = realloc(heap->items, cap * sizeof *items);
    if (items == NULL) return TAOS_SIM_ERR_MEMORY;
    heap->items = items;
    heap->cap = cap;
  }
  unsigned __int128 key = key_of(msg);
  size_t i = heap->size++;
  while (i > 0) {
    size_t parent = (i - 1) / 4;
    if (key >= key_of(&heap->items[parent])) break;
    heap->items[i] = heap->items[parent];
    i = parent;
  }
  heap->items[i] = *msg;
  return TAOS_SIM_OK;
}

void sim_heap_take(sim_heap *heap, sim_msg *out) {
  sim_heap_settle(heap);
  *out = heap->items[0];
  heap->root_vacant = true;
}

/* The hole at the root first moves down along the smallest children to the bottom, then the last
 * message rises from there to its place: it came from the bottom and mostly belongs near it, so
 * this compares less than sinking it from the root. */
void sim_heap_settle(sim_heap *heap) {
  if (!heap->root_vacant) return;
  heap->root_vacant = false;
  sim_msg *items = heap->items;
  size_t n = --heap->size; /* items[n] is the last message, to be placed again */
  if (n == 0) return;
  size_t hole = 0;
  for (;;) {
    size_t first = 4 * hole + 1;
    if (first >= n) break;
    unsigned __int128 child_key;
    size_t best = smallest_child(items, first, n, &child_key);
    items[hole] = items[best];
    hole = best;
  }
  unsigned __int128 key = key_of(&items[n]);
  while (hole > 0) {
    size_t parent = (hole - 1) / 4;
    if (key >= key_of(&items[parent])) break;
    items[hole] = items[parent];
    hole = parent;
  }
  items[hole] = items[n];
}

void sim_heap_pop(sim_heap *heap, sim_msg *out) {
  sim_heap_take(heap, out);
  sim_heap_settle(heap);
}
