// Placeholder: the nocloud section is defined with the NoCloud listener (src/nocloud).
import { obj } from '../validate.ts';

export const nocloudSection = () => obj({});
