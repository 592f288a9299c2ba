// Placeholder: the images section is defined with the image cache (src/images).
import { obj } from '../validate.ts';

export const imagesSection = () => obj({});
