// Types of the part of jStat (npm `jstat`) the engine uses.
declare module 'jstat' {
  const jStat: {
    studentt: { inv(p: number, dof: number): number };
  };
  export default jStat;
}
