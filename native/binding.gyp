{
  # Tally's native curve engine (native/tally_blst.c) linked with blst, whose C and assembly
  # sources come from the pinned npm package c-kzg (node_modules/c-kzg/deps/blst); nothing of
  # blst is kept in this repository. scripts/build_native.mjs runs this at npm install.
  "variables": {
    "blst_dir": "<!(node -p \"require('path').relative(process.cwd(), require('path').join(require('path').dirname(require.resolve('c-kzg/package.json')), 'deps', 'blst'))\")"
  },
  "targets": [
    {
      "target_name": "tally_blst",
      "sources": [
        "tally_blst.c",
        "<(blst_dir)/src/server.c"
      ],
      "include_dirs": ["<(blst_dir)/bindings"],
      "defines": ["__BLST_PORTABLE__"],
      "cflags": ["-O2", "-fPIC", "-fno-builtin", "-Wno-unused-function"],
      "conditions": [
        ["OS!='win'", { "sources": ["<(blst_dir)/build/assembly.S"] }],
        ["OS=='win'", { "sources": ["<(blst_dir)/build/win64/*-x86_64.asm"] }]
      ]
    }
  ]
}
