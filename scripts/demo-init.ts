// `npm start` runs the demo gateway on working copies under .guestgate/: the inventory (copied from
// fixtures/demo/inventory, so admin/CLI changes never touch the repository) and a folder of three small
// LXD-format images (unified, split container, split VM) that the demo's image cache fills from.
import { cpSync, existsSync, readdirSync } from 'node:fs';
import { splitImage, unifiedImage, writeToDir } from '../fixtures/images/make.ts';

const inventory = '.guestgate/demo-inventory';
if (!existsSync(inventory)) {
  cpSync('fixtures/demo/inventory', inventory, { recursive: true });
  console.log(`demo: copied fixtures/demo/inventory to ${inventory} (delete it to start over)`);
}
const images = '.guestgate/demo-images';
if (!existsSync(images) || readdirSync(images).length === 0) {
  for (const img of [await unifiedImage(1 << 20), await splitImage(1 << 20), await splitImage(1 << 20, true)])
    await writeToDir(images, img);
}
console.log(`demo: images available to guests (${images}):`);
for (const f of readdirSync(images)
  .filter((f) => !f.endsWith('.rootfs'))
  .sort())
  console.log(`  ${f}${existsSync(`${images}/${f}.rootfs`) ? '  (split)' : '  (unified)'}`);
